/**
 * The util-linux `flock` command as another process taking the same lock as ocidx (as buildkit would).
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import type { Scope } from "effect"
import { Deferred, Duration, Effect } from "effect"

/** Where the util-linux `flock` command lives on the CI image. */
export const flockCommand = "/usr/bin/flock"

/** Whether the util-linux `flock` command is there to run. */
export const hasFlockCommand: boolean = NodeFs.existsSync(flockCommand)

export type FlockMode = "shared" | "exclusive"

const modeFlag = (mode: FlockMode): string => (mode === "shared" ? "-s" : "-x")

/** A child process that holds the lock on a file. */
export interface FlockHolder {
  readonly pid: number
  /** Completes with the exit code once the holder and its command have exited, i.e. the lock is free. */
  readonly exited: Effect.Effect<number | null>
  readonly hasExited: Effect.Effect<boolean>
  /** Kills the holder (and the command it runs) and waits until it has exited. */
  readonly kill: Effect.Effect<void>
}

const killGroup = (pid: number): void => {
  try {
    // The holder runs in its own process group: the command it spawns inherits the locked descriptor.
    process.kill(-pid, "SIGKILL")
  } catch {
    // Already gone.
  }
}

/**
 * Runs `flock -s|-x <lockPath> sh -c 'echo locked; exec sleep <hold>'` and succeeds once the child reports
 * that it holds the lock. The holder is killed when the scope closes, if it is still running.
 */
export const holdFlock = (
  lockPath: string,
  mode: FlockMode,
  hold: Duration.DurationInput
): Effect.Effect<FlockHolder, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const exit = yield* Deferred.make<number | null>()
    const seconds = Duration.toSeconds(hold).toFixed(3)
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(flockCommand, [modeFlag(mode), lockPath, "-c", `echo locked; exec sleep ${seconds}`], {
          detached: true,
          stdio: ["ignore", "pipe", "inherit"]
        })
      ),
      (child) =>
        Effect.gen(function* () {
          if (child.pid !== undefined) killGroup(child.pid)
          yield* Deferred.await(exit)
        })
    )
    child.on("exit", (code) => Deferred.unsafeDone(exit, Effect.succeed(code)))
    yield* Effect.async<void, Error>((resume) => {
      let output = ""
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8")
        if (output.includes("locked")) resume(Effect.void)
      })
      child.on("error", (error) => resume(Effect.fail(error)))
      child.on("exit", (code) => resume(Effect.fail(new Error(`flock exited (${code}) before taking the lock`))))
    })
    const pid = child.pid
    if (pid === undefined) return yield* Effect.fail(new Error("flock did not start"))
    return {
      pid,
      exited: Deferred.await(exit),
      hasExited: Deferred.isDone(exit),
      kill: Effect.sync(() => killGroup(pid)).pipe(Effect.zipRight(Deferred.await(exit)), Effect.asVoid)
    }
  })

/**
 * `flock -n -s|-x <lockPath> true`: whether another process could take the lock right now.
 */
export const canFlock = (lockPath: string, mode: FlockMode): Effect.Effect<boolean, Error> =>
  Effect.async<boolean, Error>((resume) => {
    const conflict = 75
    const child = ChildProcess.spawn(flockCommand, ["-n", "-E", String(conflict), modeFlag(mode), lockPath, "true"], {
      stdio: "ignore"
    })
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("exit", (code) => {
      if (code === 0) resume(Effect.succeed(true))
      else if (code === conflict) resume(Effect.succeed(false))
      else resume(Effect.fail(new Error(`flock -n exited with ${code}`)))
    })
  })
