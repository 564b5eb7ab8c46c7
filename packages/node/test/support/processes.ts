/**
 * Child processes for tests of real concurrency: spawn a bundled worker, collect its stdout lines, wait for
 * a line or for its exit, kill it. A worker still running when the scope closes is killed.
 */
import * as ChildProcess from "node:child_process"
import type { Scope } from "effect"
import { Deferred, Effect } from "effect"

/** How a child ended. */
export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface WorkerProcess {
  readonly pid: number
  /** The complete lines the child has written to stdout so far. */
  readonly lines: () => ReadonlyArray<string>
  /** What the child has written to stderr so far. */
  readonly stderr: () => string
  /** Completes once the child has exited and all of its output has been read. */
  readonly exited: Effect.Effect<ExitInfo>
  /** The first line (already written or still to come) that `predicate` accepts; fails if the child exits first. */
  readonly waitForLine: (predicate: (line: string) => boolean) => Effect.Effect<string, Error>
  /** Sends `signal` (SIGKILL by default) unless the child has exited, then waits for the exit. */
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<ExitInfo>
}

/** Runs `node <script> ...args`. */
export const spawnWorker = (
  script: string,
  args: ReadonlyArray<string>
): Effect.Effect<WorkerProcess, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const exit = yield* Deferred.make<ExitInfo>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => ChildProcess.spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
      (child) =>
        Effect.gen(function* () {
          if (!(yield* Deferred.isDone(exit))) child.kill("SIGKILL")
          yield* Deferred.await(exit)
        })
    )
    const pid = child.pid
    if (pid === undefined) {
      return yield* Effect.async<never, Error>((resume) => {
        child.on("error", (error) => resume(Effect.fail(error)))
      })
    }
    const lines: Array<string> = []
    const waiters = new Set<() => void>()
    let partial = ""
    let errorOutput = ""
    let closed = false
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n")
      partial = parts.pop() ?? ""
      if (parts.length === 0) return
      lines.push(...parts)
      for (const wake of waiters) wake()
    })
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (chunk: string) => {
      errorOutput += chunk
    })
    // "close" comes after "exit" and after stdout and stderr have ended: the output is complete.
    child.on("close", (code, signal) => {
      if (partial !== "") lines.push(partial)
      partial = ""
      closed = true
      Deferred.unsafeDone(exit, Effect.succeed({ code, signal }))
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
            resume(Effect.fail(new Error(`worker ${pid} exited before the line came; stderr: ${errorOutput}`)))
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

    const kill = (signal: NodeJS.Signals = "SIGKILL"): Effect.Effect<ExitInfo> =>
      Effect.gen(function* () {
        if (!(yield* Deferred.isDone(exit))) child.kill(signal)
        return yield* Deferred.await(exit)
      })

    return {
      pid,
      lines: () => lines,
      stderr: () => errorOutput,
      exited: Deferred.await(exit),
      waitForLine,
      kill
    }
  })
