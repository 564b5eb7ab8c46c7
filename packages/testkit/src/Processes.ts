/**
 * The one way ocidx's tests run child processes: `spawn` one that runs beside the test (its stdout lines as
 * they come, wait for a line, kill it; killed when the scope closes), `run` one to completion (interrupting
 * the test kills it), and `runSync` for the probes that decide at module load whether a group of tests runs.
 */
import * as NodeChildProcess from "node:child_process"
import { StringDecoder } from "node:string_decoder"
import type { Scope } from "effect"
import { Deferred, Duration, Effect, Option } from "effect"

/**
 * @category model
 */
export interface SpawnOptions {
  readonly cwd?: string | undefined
  /** Added to (or, as `undefined`, removed from) this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  readonly input?: string | Uint8Array | undefined
  /**
   * Runs the child in its own process group, which `kill` and the end of the scope signal as a whole: for a
   * command whose own children hold what the test waits on (`flock ... -c 'exec sleep'` holds the lock).
   */
  readonly group?: boolean | undefined
  /** stderr goes to this process's stderr instead of being collected. */
  readonly inheritStderr?: boolean | undefined
}

/**
 * How a child ended.
 *
 * @category model
 */
export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/**
 * How a child ended, with everything it wrote.
 *
 * @category model
 */
export interface RunResult extends ExitInfo {
  readonly stdoutBytes: Buffer
  readonly stdout: string
  readonly stderr: string
  /** Milliseconds from spawn to exit. */
  readonly elapsed: number
}

/**
 * A running child.
 *
 * @category model
 */
export interface Child {
  readonly pid: number
  /** The complete lines the child has written to stdout so far. */
  readonly lines: () => ReadonlyArray<string>
  /** What the child has written to stderr so far. */
  readonly stderr: () => string
  /** Completes once the child has exited and all of its output has been read. */
  readonly exited: Effect.Effect<ExitInfo>
  /** `exited`, with everything the child wrote. */
  readonly result: Effect.Effect<RunResult>
  readonly hasExited: Effect.Effect<boolean>
  /** The first line (already written or still to come) that `predicate` accepts; fails if the child exits first. */
  readonly waitForLine: (predicate: (line: string) => boolean) => Effect.Effect<string, Error>
  /** Sends `signal` (SIGKILL by default) unless the child has exited, then waits for the exit. */
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<ExitInfo>
}

const exitInfo = ({ code, signal }: ExitInfo): ExitInfo => ({ code, signal })

const describe = (command: string, args: ReadonlyArray<string>): string => [command, ...args].join(" ")

/** Starts `command`; the child is killed (SIGKILL) when the scope closes, if it is still running. */
export const spawn = (
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions = {}
): Effect.Effect<Child, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const exit = yield* Deferred.make<RunResult>()
    const startFailed = yield* Deferred.make<Error>()
    // Set once the child has exited and its pipes are closed: nothing of it (or of its group) is left to signal.
    let closed = false
    const signal = (child: NodeChildProcess.ChildProcess, name: NodeJS.Signals): void => {
      if (child.pid === undefined || closed) return
      try {
        // A group's other members may outlive its leader, holding the pipes (and whatever the test waits on).
        if (options.group) process.kill(-child.pid, name)
        else child.kill(name)
      } catch {
        // Gone in the meantime.
      }
    }
    const started = Date.now()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = NodeChildProcess.spawn(command, [...args], {
          cwd: options.cwd,
          env: options.env === undefined ? process.env : { ...process.env, ...options.env },
          detached: options.group ?? false,
          stdio: ["pipe", "pipe", options.inheritStderr ? "inherit" : "pipe"]
        })
        // Listening at once: a command that cannot start reports it on the next tick.
        child.on("error", (error) =>
          Deferred.unsafeDone(startFailed, Effect.succeed(new Error(`${describe(command, args)}: ${error.message}`)))
        )
        return child
      }),
      (child) =>
        Effect.suspend(() => {
          // A child that never started has nothing to wait for.
          if (child.pid === undefined) return Effect.void
          signal(child, "SIGKILL")
          return Deferred.await(exit)
        })
    )
    const pid = child.pid
    if (pid === undefined) return yield* Effect.fail(yield* Deferred.await(startFailed))

    const out: Array<Buffer> = []
    const lines: Array<string> = []
    const decoder = new StringDecoder("utf8")
    const waiters = new Set<() => void>()
    let partial = ""
    let errorOutput = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      out.push(chunk)
      const parts = (partial + decoder.write(chunk)).split("\n")
      partial = parts.pop() ?? ""
      if (parts.length === 0) return
      // A loop, not push(...): a chunk can hold more lines than a call takes arguments.
      for (const line of parts) lines.push(line)
      for (const wake of waiters) wake()
    })
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk: string) => {
      errorOutput += chunk
    })
    child.stdin?.on("error", () => {})
    child.stdin?.end(options.input ?? "")
    // "close" comes after "exit" and after stdout and stderr have ended: the output is complete.
    child.on("close", (code, signalName) => {
      partial += decoder.end()
      if (partial !== "") lines.push(partial)
      partial = ""
      closed = true
      const stdoutBytes = Buffer.concat(out)
      Deferred.unsafeDone(
        exit,
        Effect.succeed({
          code,
          signal: signalName,
          stdoutBytes,
          stdout: stdoutBytes.toString("utf8"),
          stderr: errorOutput,
          elapsed: Date.now() - started
        })
      )
      for (const wake of waiters) wake()
    })

    const waitForLine = (predicate: (line: string) => boolean): Effect.Effect<string, Error> =>
      Effect.async<string, Error>((resume) => {
        let seen = 0
        const check = (): boolean => {
          for (; seen < lines.length; seen++) {
            const line = lines[seen]
            if (line !== undefined && predicate(line)) {
              resume(Effect.succeed(line))
              return true
            }
          }
          if (closed) {
            resume(
              Effect.fail(new Error(`${describe(command, args)} exited before the line came; stderr: ${errorOutput}`))
            )
            return true
          }
          return false
        }
        if (check()) return
        const wake = () => {
          if (check()) waiters.delete(wake)
        }
        waiters.add(wake)
        return Effect.sync(() => waiters.delete(wake))
      })

    return {
      pid,
      lines: () => lines,
      stderr: () => errorOutput,
      exited: Effect.map(Deferred.await(exit), exitInfo),
      result: Deferred.await(exit),
      hasExited: Deferred.isDone(exit),
      waitForLine,
      kill: (name: NodeJS.Signals = "SIGKILL") =>
        Effect.suspend(() => {
          signal(child, name)
          return Effect.map(Deferred.await(exit), exitInfo)
        })
    }
  })

/** `node <script> ...args`, with the node binary running the tests. */
export const spawnNode = (
  script: string,
  args: ReadonlyArray<string>,
  options?: SpawnOptions
): Effect.Effect<Child, Error, Scope.Scope> => spawn(process.execPath, [script, ...args], options)

/**
 * @category model
 */
export interface RunOptions extends SpawnOptions {
  /** Killed, and the run failed, past this. None by default (the test's own timeout applies). */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Asked, once the timeout has passed and before the child is killed, what the child can tell of where it
   * hangs (a diagnostic report, say); its answer goes into the failure, so that a hang seen once in CI names
   * its cause.
   */
  readonly onHang?: ((child: Child) => Effect.Effect<string>) | undefined
}

/** Runs `command` to its end, whatever the exit code; fails only when it cannot be started (or times out). */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<RunResult, Error> => {
  const timeout = options.timeout
  return Effect.scoped(
    Effect.flatMap(spawn(command, args, options), (child) =>
      timeout === undefined
        ? child.result
        : Effect.flatMap(Effect.timeoutOption(child.result, timeout), (result) => {
            if (Option.isSome(result)) return Effect.succeed(result.value)
            return Effect.flatMap(options.onHang?.(child) ?? Effect.succeed(""), (said) =>
              Effect.fail(
                new Error(
                  [
                    `${describe(command, args)} took longer than ${Duration.format(timeout)}`,
                    `stderr so far: ${child.stderr()}`,
                    said
                  ]
                    .filter((line) => line !== "")
                    .join("\n")
                )
              )
            )
          })
    )
  )
}

/** `run`, failing with the command's stderr unless it exits 0; its stdout. */
export const runOk = (
  command: string,
  args: ReadonlyArray<string>,
  options?: RunOptions
): Effect.Effect<string, Error> =>
  Effect.flatMap(run(command, args, options), (result) =>
    result.code === 0
      ? Effect.succeed(result.stdout)
      : Effect.fail(new Error(`${describe(command, args)} exited ${result.code ?? result.signal}: ${result.stderr}`))
  )

/**
 * Runs `command` to its end, blocking: only for what must be known before any test runs (whether a tool or a
 * privilege is there) and for setup outside Effect. A command that cannot start gives code `null`.
 */
export const runSync = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string | undefined; readonly input?: string | undefined; readonly inherit?: boolean } = {}
): { readonly code: number | null; readonly stdout: string; readonly stderr: string } => {
  const result = NodeChildProcess.spawnSync(command, [...args], {
    cwd: options.cwd,
    input: options.input ?? "",
    encoding: "utf8",
    stdio: options.inherit ? ["pipe", "inherit", "inherit"] : "pipe"
  })
  return { code: result.error ? null : result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" }
}
