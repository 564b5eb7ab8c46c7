/**
 * Runs the built `ocidx` bundle as a child process, as a user's shell would.
 */
import * as ChildProcess from "node:child_process"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const repoRoot = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../../..")
export const binPath = NodePath.join(repoRoot, "packages", "cli", "bin", "ocidx.mjs")

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdoutBytes: Buffer
  readonly stdout: string
  readonly stderr: string
  /** Milliseconds from spawn to exit. */
  readonly elapsed: number
}

export interface RunOptions {
  readonly input?: string | Uint8Array
  readonly env?: Record<string, string>
  readonly cwd?: string
}

/** `ocidx ...args`; never fails, whatever the exit code. Killed if the test is interrupted. */
export const ocidx = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<RunResult> =>
  Effect.async<RunResult>((resume) => {
    const started = Date.now()
    const child = ChildProcess.spawn(process.execPath, [binPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk))
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
    child.on("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out)
      resume(
        Effect.succeed({
          code,
          signal,
          stdoutBytes,
          stdout: stdoutBytes.toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
          elapsed: Date.now() - started
        })
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** `ocidx ...args`, failing the test with its output unless it exits with `code`. */
export const ocidxExpect = (
  code: number,
  args: ReadonlyArray<string>,
  options?: RunOptions
): Effect.Effect<RunResult, Error> =>
  Effect.flatMap(ocidx(args, options), (result) =>
    result.code === code
      ? Effect.succeed(result)
      : Effect.fail(
          new Error(
            `ocidx ${args.join(" ")}: expected exit ${code}, got ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
          )
        )
  )

/** A child process run to completion. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly input?: string } = {}
): Effect.Effect<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> =>
  Effect.async((resume) => {
    const child = ChildProcess.spawn(command, args, { cwd: options.cwd ?? repoRoot, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("error", (error) => resume(Effect.succeed({ code: 127, stdout, stderr: String(error) })))
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Like `run`, failing unless the command exits 0. */
export const runOk = (command: string, args: ReadonlyArray<string>, options?: { readonly cwd?: string }) =>
  Effect.flatMap(run(command, args, options), (result) =>
    result.code === 0
      ? Effect.succeed(result.stdout)
      : Effect.fail(new Error(`${command} ${args.join(" ")} exited ${result.code}: ${result.stderr}`))
  )
