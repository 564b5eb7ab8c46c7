/**
 * The `ocidx` command tree and how a run ends: every failure becomes an exit code (see `ExitCode`) and one
 * message on standard error. Needs the process only through services, so tests run it in memory.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import { Effect, Option } from "effect"
import { blob } from "./commands/Blob.js"
import { cat } from "./commands/Cat.js"
import { gc } from "./commands/Gc.js"
import { get } from "./commands/Get.js"
import { init } from "./commands/Init.js"
import { ls } from "./commands/Ls.js"
import { put } from "./commands/Put.js"
import { rm } from "./commands/Rm.js"
import { root } from "./commands/Root.js"
import { verify } from "./commands/Verify.js"
import * as ExitCode from "./ExitCode.js"
import { Stdio } from "./Stdio.js"
import type { Store } from "./Store.js"
import { version } from "./version.js"

/**
 * `ocidx` and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = root.pipe(
  Command.withDescription(
    "Read, tag, verify and prune OCI image-layout directories, safely beside buildkit (same lock, atomic writes)."
  ),
  Command.withSubcommands([init, ls, get, put, rm, cat, blob, verify, gc])
)

/**
 * What a run needs: what @effect/cli needs (FileSystem, Path, Terminal), the standard streams, a store.
 *
 * @since 0.1.0
 * @category model
 */
export type Environment = CliApp.CliApp.Environment | Stdio | Store

const cli = Command.run(command, { name: "ocidx", version })

/**
 * Runs `ocidx` on `argv` (as `process.argv`: the first two elements are the runtime and the script) and
 * returns the exit code, after printing the error, if any, to standard error.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode.ExitCode, never, Environment> =>
  cli(argv).pipe(
    Effect.as<ExitCode.Outcome>({ code: ExitCode.ExitCode.ok, message: Option.none() }),
    Effect.catchAllCause((cause) => Effect.succeed(ExitCode.fromCause(cause))),
    Effect.tap((outcome) =>
      Option.match(outcome.message, {
        onNone: () => Effect.void,
        onSome: (message) => Effect.flatMap(Stdio, (stdio) => stdio.err(`ocidx: ${message}\n`))
      })
    ),
    Effect.map((outcome) => outcome.code)
  )
