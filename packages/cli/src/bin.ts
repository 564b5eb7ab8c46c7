#!/usr/bin/env node
/**
 * The `ocidx` executable: the only module that touches `process` and the Node runtime. It wires the standard
 * streams and the Node store into `Cli.run`, and turns the outcome into the exit code, including 130/143
 * after SIGINT/SIGTERM, once the interrupted command has released its lock.
 *
 * Start-up loads only what the command needs: `ocidx --version` is answered before Effect is loaded, and the
 * store (with the native flock binding) is loaded by the first command that opens a layout.
 *
 * @since 0.1.0
 */
import type { WriteError } from "@ocidx/core/Errors"
import type { BrokenPipe } from "./CliError.js"
import type { Stdio } from "./Stdio.js"
import { version } from "./version.js"

const main = async (): Promise<void> => {
  // Each module by its own path: a dynamic import of a barrel ("effect") would defeat tree shaking.
  const [NodeFileSystem, NodePath, NodeRuntime, NodeStream, NodeTerminal, Errors, Effect, Exit, Layer] =
    await Promise.all([
      import("@effect/platform-node/NodeFileSystem"),
      import("@effect/platform-node/NodePath"),
      import("@effect/platform-node/NodeRuntime"),
      import("@effect/platform-node/NodeStream"),
      import("@effect/platform-node/NodeTerminal"),
      import("@ocidx/core/Errors"),
      import("effect/Effect"),
      import("effect/Exit"),
      import("effect/Layer")
    ])
  const [Cli, CliError, { ExitCode }, StdioModule, Store] = await Promise.all([
    import("./Cli.js"),
    import("./CliError.js"),
    import("./ExitCode.js"),
    import("./Stdio.js"),
    import("./Store.js")
  ])

  let signal: "SIGINT" | "SIGTERM" | undefined
  // NodeRuntime.runMain interrupts the main fiber on these; this only remembers which one came, for the code.
  process.once("SIGINT", () => {
    signal ??= "SIGINT"
  })
  process.once("SIGTERM", () => {
    signal ??= "SIGTERM"
  })

  // A reader that goes away (`ocidx blob get ... | head`) shows up in the write callback; without a listener
  // Node would also throw the same error from the stream.
  process.stdout.on("error", () => {})

  const errnoOf = (error: unknown): string | undefined =>
    typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
      ? error.code
      : undefined

  const stdio: Stdio = {
    out: (chunk) =>
      Effect.async<void, BrokenPipe | WriteError>((resume) => {
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
    errIsTTY: process.stderr.isTTY === true
  }

  const layer = Layer.mergeAll(
    NodeFileSystem.layer,
    NodePath.layer,
    NodeTerminal.layer,
    Store.layerNode,
    Layer.succeed(StdioModule.Stdio, stdio)
  )

  const interruptedCode = (): number =>
    signal === "SIGTERM" ? ExitCode.sigterm : signal === "SIGINT" ? ExitCode.sigint : ExitCode.software

  Cli.run(process.argv).pipe(
    Effect.tap((code) =>
      Effect.sync(() => {
        process.exitCode = code
      })
    ),
    Effect.provide(layer),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        // Cli.run turns every failure into a code, so a failed exit here is an interruption by a signal: the
        // command's scopes, and so its lock, are closed by now.
        if (Exit.isFailure(exit)) process.exitCode = interruptedCode()
        // runMain calls process.exit only after a signal or for a non-zero code; otherwise Node exits by
        // itself once stdout has drained, with process.exitCode.
        onExit(signal === undefined ? 0 : interruptedCode())
      }
    })
  )
}

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${version}\n`)
} else {
  await main()
}
