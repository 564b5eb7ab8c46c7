/**
 * The `ocidx` command tree and how a run ends: every failure becomes an exit code (see `ExitCode`) and one
 * message on standard error. Needs the process only through services, so tests run it in memory.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { UsageError, UsageReported } from "./CliError.js"
import { exportArchive, importArchive } from "./commands/Archive.js"
import { blob, blobGet, blobPut } from "./commands/Blob.js"
import { cat } from "./commands/Cat.js"
import { copy, pull, push } from "./commands/Copy.js"
import { gc } from "./commands/Gc.js"
import { get } from "./commands/Get.js"
import { init } from "./commands/Init.js"
import { login, logout } from "./commands/Login.js"
import { ls } from "./commands/Ls.js"
import { prune } from "./commands/Prune.js"
import { put } from "./commands/Put.js"
import { rm } from "./commands/Rm.js"
import { root } from "./commands/Root.js"
import { verify } from "./commands/Verify.js"
import * as ExitCode from "./ExitCode.js"
import * as Help from "./Help.js"
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
  Command.withSubcommands([
    init,
    ls,
    get,
    put,
    rm,
    cat,
    blob,
    verify,
    gc,
    prune,
    copy,
    pull,
    push,
    importArchive,
    exportArchive,
    login,
    logout
  ])
)

/**
 * What a run needs: what @effect/cli needs (FileSystem, Path, Terminal), the standard streams, a store.
 *
 * @since 0.1.0
 * @category model
 */
export type Environment = CliApp.CliApp.Environment | Stdio | Store

// Command.run also registers the tree with @effect/cli, which the help of `ocidx` alone relies on.
const cli = Command.run(command, { name: "ocidx", version })

const commandTree = Help.tree(command.descriptor, [
  Help.tree(init.descriptor),
  Help.tree(ls.descriptor),
  Help.tree(get.descriptor),
  Help.tree(put.descriptor),
  Help.tree(rm.descriptor),
  Help.tree(cat.descriptor),
  Help.tree(blob.descriptor, [Help.tree(blobPut.descriptor), Help.tree(blobGet.descriptor)]),
  Help.tree(verify.descriptor),
  Help.tree(gc.descriptor),
  Help.tree(prune.descriptor),
  Help.tree(copy.descriptor),
  Help.tree(pull.descriptor),
  Help.tree(push.descriptor),
  Help.tree(importArchive.descriptor),
  Help.tree(exportArchive.descriptor),
  Help.tree(login.descriptor),
  Help.tree(logout.descriptor)
])

const config = CliConfig.defaultConfig

const isLogLevelOption = (arg: string | undefined): boolean =>
  arg !== undefined && (arg === "--log-level" || arg.startsWith("--log-level="))

/**
 * What @effect/cli's runner does, except for what ocidx prints: help and usage errors go through `Help`
 * (plain unless the stream wants colours; usage lines that start with `ocidx`), to `Stdio`, and a word that
 * names no command is a usage error even beside `--help`. Completions and the wizard are left to it.
 */
const runArgs = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, ExitCode.Failure | ValidationError.ValidationError, Environment> =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const args = argv.slice(2)
    const located = Help.locate(commandTree, args)
    if (Option.isSome(located.unknown)) {
      return yield* new UsageError({ message: Help.unknownCommand(located, located.unknown.value) })
    }
    const usageError = (error: ValidationError.ValidationError) =>
      Effect.zipRight(stdio.err(`${Help.render(error.error, stdio.errColors)}\n`), Effect.fail(error))
    // Rendered only when shown: the page costs tens of milliseconds, which every command paid before.
    const showHelp = Effect.suspend(() =>
      stdio.out(`${Help.render(Help.page(located.path, { version, config }), stdio.outColors)}\n`)
    )

    const directive = yield* CommandDescriptor.parse(command.descriptor, ["ocidx", ...args], config).pipe(
      Effect.catchAll(usageError)
    )
    if (directive._tag === "UserDefined") {
      const [extra] = directive.leftover
      if (extra !== undefined) {
        return yield* usageError(ValidationError.invalidValue(HelpDoc.p(`Received unknown argument: '${extra}'`)))
      }
      return yield* command.transform(command.handler(directive.value), directive.value).pipe(
        // A command with subcommands and no handler of its own (`ocidx`, `ocidx blob`) asks for its help.
        Effect.catchIf(
          (error) => ValidationError.isValidationError(error) && ValidationError.isHelpRequested(error),
          () => showHelp
        )
      )
    }
    switch (directive.option._tag) {
      case "ShowHelp":
        return yield* showHelp
      case "ShowVersion":
        return yield* stdio.out(`${version}\n`)
      case "SetLogLevel":
        return yield* runArgs(
          argv.filter((arg, i) => i < 2 || !(isLogLevelOption(arg) || argv[i - 1] === "--log-level"))
        ).pipe(Logger.withMinimumLogLevel(directive.option.level))
      case "ShowCompletions":
      case "ShowWizard":
        return yield* cli(argv)
    }
  })

// The subcommand `argv` names (`gc`, `blob put`): hints name only the flags it has.
const commandOf = (argv: ReadonlyArray<string>): string =>
  Help.locate(commandTree, argv.slice(2))
    .path.slice(1)
    .map((command) => command.name)
    .join(" ")

/**
 * Runs `ocidx` on `argv` (as `process.argv`: the first two elements are the runtime and the script) and
 * returns the exit code, after printing the error, if any, to standard error.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode.ExitCode, never, Environment> =>
  ExitCode.report(
    // @effect/cli's own errors are usage errors it has printed (`runArgs` does, through `Help`).
    Effect.mapError(runArgs(argv), (error) => (ValidationError.isValidationError(error) ? new UsageReported() : error)),
    commandOf(argv)
  )
