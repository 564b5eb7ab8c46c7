/**
 * The util-linux `flock` command as another process taking the same lock as ocidx (as buildkit would).
 */
import type { Scope } from "effect"
import { Duration, Effect } from "effect"
import { run, spawn } from "./Processes.js"
import { flockPath } from "./Tools.js"

/** Where the util-linux `flock` command is, or `undefined`. */
export const flockCommand: string | undefined = flockPath

/** Whether the util-linux `flock` command is there to run. */
export const hasFlockCommand: boolean = flockCommand !== undefined

export type FlockMode = "shared" | "exclusive"

const modeFlag = (mode: FlockMode): string => (mode === "shared" ? "-s" : "-x")

const command = (): Effect.Effect<string, Error> =>
  flockCommand === undefined
    ? Effect.fail(new Error("util-linux flock is not installed"))
    : Effect.succeed(flockCommand)

/** A child process that holds the lock on a file. */
export interface FlockHolder {
  readonly pid: number
  /** Completes with the exit code once the holder and its command have exited, i.e. the lock is free. */
  readonly exited: Effect.Effect<number | null>
  readonly hasExited: Effect.Effect<boolean>
  /** Kills the holder (and the command it runs) and waits until it has exited. */
  readonly kill: Effect.Effect<void>
}

/**
 * Runs `flock -s|-x <lockPath> -c 'echo locked; exec sleep <hold>'` (by default for an hour) and succeeds once
 * the child reports that it holds the lock. The holder is killed when the scope closes, if still running.
 */
export const holdFlock = (
  lockPath: string,
  mode: FlockMode,
  hold: Duration.DurationInput = "1 hour"
): Effect.Effect<FlockHolder, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const seconds = Duration.toSeconds(hold).toFixed(3)
    // Its own process group: the sleep it runs inherits the locked descriptor, and dies with it.
    const child = yield* spawn(
      yield* command(),
      [modeFlag(mode), lockPath, "-c", `echo locked; exec sleep ${seconds}`],
      { group: true, inheritStderr: true }
    )
    yield* child.waitForLine((line) => line.includes("locked"))
    return {
      pid: child.pid,
      exited: Effect.map(child.exited, (exit) => exit.code),
      hasExited: child.hasExited,
      kill: Effect.asVoid(child.kill("SIGKILL"))
    }
  })

/** `flock -n -s|-x <lockPath> true`: whether another process could take the lock right now. */
export const canFlock = (lockPath: string, mode: FlockMode): Effect.Effect<boolean, Error> =>
  Effect.gen(function* () {
    const conflict = 75
    const exit = yield* run(yield* command(), ["-n", "-E", String(conflict), modeFlag(mode), lockPath, "true"])
    if (exit.code === 0) return true
    if (exit.code === conflict) return false
    return yield* Effect.fail(new Error(`flock -n exited with ${exit.code ?? exit.signal}: ${exit.stderr}`))
  })
