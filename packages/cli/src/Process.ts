/**
 * How a run of `ocidx` meets the process, for both ways a command runs (the fast path, `FastPath.ts`, and the
 * full @effect/cli one, `main.ts`): the standard streams as `Stdio`, signals, the logger, and the exit code.
 * It touches the process only once `run` is called.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as PlatformError from "@effect/platform/Error"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Errors from "@ocidx/core/Errors"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as CliError from "./CliError.js"
import { ExitCode } from "./ExitCode.js"
import { Stdio } from "./Stdio.js"

const errnoOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/**
 * Two turns of the event loop, so that its poll phase, where Node runs signal handlers, comes at least once
 * between the command's end and the exit: a signal that came during a synchronous step (a put's write under the
 * lock) is then handled, and reported in the exit code, instead of lost with the process (libuv's signal
 * handles do not keep the loop alive).
 */
const signalsDelivered: Effect.Effect<void> = Effect.async<void>((resume) => {
  let timer = setImmediate(() => {
    timer = setImmediate(() => resume(Effect.void))
  })
  return Effect.sync(() => clearImmediate(timer))
})

/**
 * Runs `program`, a whole command that ends in its exit code, on the process's standard streams, and sets the
 * exit code, including 130/143 after SIGINT/SIGTERM, once the interrupted command has released its lock.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (program: Effect.Effect<ExitCode, never, Stdio>): void => {
  let signal: "SIGINT" | "SIGTERM" | undefined
  const interruptedCode = (): number =>
    signal === "SIGTERM" ? ExitCode.sigterm : signal === "SIGINT" ? ExitCode.sigint : ExitCode.software
  // NodeRuntime.runMain interrupts the main fiber on these; this remembers which one came, for the code. It
  // also sets the code at once: a signal can be handled only after the command has already finished (one that
  // came during a synchronous step, such as a put's write under the lock), and the process was still told to stop.
  const received = (name: "SIGINT" | "SIGTERM") => () => {
    signal ??= name
    process.exitCode = interruptedCode()
  }
  process.once("SIGINT", received("SIGINT"))
  process.once("SIGTERM", received("SIGTERM"))

  // A reader that goes away (`ocidx blob get ... | head`) shows up in the write callback; without a listener
  // Node would also throw the same error from the stream.
  process.stdout.on("error", () => {})

  // https://no-color.org: any non-empty value turns styles off, even on a terminal.
  const noColor = (process.env.NO_COLOR ?? "") !== ""

  const stdio: Stdio = {
    out: (chunk) =>
      Effect.async<void, CliError.BrokenPipe | Errors.WriteError>((resume) => {
        process.stdout.write(chunk, (error) => {
          if (!error) return resume(Effect.void)
          if (errnoOf(error) === "EPIPE") return resume(Effect.fail(new CliError.BrokenPipe()))
          resume(Effect.fail(new Errors.WriteError({ path: "standard output", reason: "io", cause: error })))
        })
      }),
    err: (text) =>
      Effect.sync(() => {
        process.stderr.write(text)
      }),
    stdin: NodeStream.fromReadable(
      () => process.stdin,
      (error) => new Errors.ReadError({ path: "standard input", reason: "io", cause: error })
    ),
    readInOrder: (path) =>
      NodeStream.fromReadable(
        () => NodeFs.createReadStream(path, { highWaterMark: 256 * 1024 }),
        // As a platform error, so that its errno gives the reason as it does for every other file.
        (error) =>
          Errors.ReadError.fromPlatformError(path)(
            new PlatformError.SystemError({
              module: "FileSystem",
              method: "read",
              reason: "Unknown",
              pathOrDescriptor: path,
              cause: error
            })
          )
      ),
    errIsTTY: process.stderr.isTTY === true,
    outColors: process.stdout.isTTY === true && !noColor,
    errColors: process.stderr.isTTY === true && !noColor
  }

  program.pipe(
    Effect.tap((code) =>
      Effect.sync(() => {
        process.exitCode = code
      })
    ),
    Effect.zipLeft(signalsDelivered),
    Effect.provideService(Stdio, stdio),
    // Whether the logger that runMain installs colours its lines (those of a lock file that cannot be closed):
    // Effect looks at stdout only, ocidx also honours NO_COLOR.
    Effect.provide(Logger.replace(Logger.prettyLoggerDefault, Logger.prettyLogger({ colors: stdio.outColors }))),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        // Every command turns its failures into a code, so a failed exit here is an interruption by a signal:
        // the command's scopes, and so its lock, are closed by now.
        if (Exit.isFailure(exit)) process.exitCode = interruptedCode()
        // runMain calls process.exit only after a signal or for a non-zero code; otherwise Node exits by
        // itself once stdout has drained, with process.exitCode.
        onExit(signal === undefined ? 0 : interruptedCode())
      }
    })
  )
}
