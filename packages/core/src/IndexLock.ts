/**
 * The index lock: shared for reads, exclusive for writes, held for the life of a scope. A platform supplies
 * one non-blocking attempt (a `LockBackend`, e.g. flock(2)); this module adds in-process serialisation per
 * path, a jittered backoff and a deadline, so waiting never blocks a thread and can always be interrupted.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Option, Schedule, Scope } from "effect"
import * as Context from "effect/Context"
import type { LockError } from "./Errors.js"
import * as internal from "./internal/indexLock.js"

/**
 * @since 0.1.0
 * @category model
 */
export type LockMode = "shared" | "exclusive"

/**
 * @since 0.1.0
 * @category model
 */
export interface IndexLock {
  /**
   * Takes the lock at `lockPath` in `mode` and holds it until the scope closes (on success, failure or
   * interruption). Waits up to the timeout in force (`CurrentLockTimeout`, unless the lock was made with a
   * fixed one), then fails with `LockError` (reason "timeout").
   */
  readonly acquire: (lockPath: string, mode: LockMode) => Effect.Effect<void, LockError, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const IndexLock: Context.Tag<IndexLock, IndexLock> = Context.GenericTag<IndexLock>("@ocidx/core/IndexLock")

/**
 * One platform lock primitive. `tryAcquire` makes a single non-blocking attempt: `Some(release)` when the
 * lock was taken, `None` when another holder has it. `release` must not fail.
 *
 * `waiter`, when a backend has one, is used once the first attempt found the lock busy: it opens what the
 * later attempts of this acquire share (e.g. descriptors already open) and keeps it until the scope closes.
 *
 * @since 0.1.0
 * @category model
 */
export interface LockBackend {
  readonly tryAcquire: (
    lockPath: string,
    mode: LockMode
  ) => Effect.Effect<Option.Option<Effect.Effect<void>>, LockError>
  readonly waiter?:
    | ((lockPath: string, mode: LockMode) => Effect.Effect<LockWaiter, LockError, Scope.Scope>)
    | undefined
}

/**
 * What a backend keeps while an acquire waits. `tryAcquire` is one attempt, as the backend's; a `release` it
 * returns owns what it needs and outlives the waiter. `untilFree`, when given, replaces the schedule's delays:
 * it completes when the lock may be free (at worst after a short delay) and must be interruptible. It may keep
 * a lock it found free for the `tryAcquire` that follows, which takes it as its own; whatever is still held
 * when the wait ends, the waiter's scope lets go. Each wake-up costs a process CPU time the holder could use, so
 * a backend that can look at the lock cheaply, outside the effect runtime, waits better than a schedule does.
 *
 * @since 0.1.0
 * @category model
 */
export interface LockWaiter {
  readonly tryAcquire: Effect.Effect<Option.Option<Effect.Effect<void>>, LockError>
  readonly untilFree?: Effect.Effect<void> | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface LockOptions {
  /**
   * A fixed time to wait for this instance, e.g. for a test. Leave it out (as the Node layers do) to read
   * `CurrentLockTimeout` at each acquire, so the program sets the timeout once around its work.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The delays between attempts, unless the backend's waiter has `untilFree`. Default: exponential from 1 ms,
   * jittered, capped at 10 ms.
   */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * The default time to wait for the lock: 30 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = internal.defaultTimeout

/**
 * The identity of `CurrentLockTimeout` in a context.
 *
 * @since 0.1.0
 * @category context
 */
export interface CurrentLockTimeout {
  readonly _: unique symbol
}

/**
 * How long `acquire` waits for a lock another holder has: `0` fails at once, as buildkit does;
 * `Duration.infinity` waits for ever. Read where the lock is acquired, so a program sets it once around its
 * work, `Effect.provideService(IndexLock.CurrentLockTimeout, Duration.seconds(5))`, or as a layer,
 * `Layer.succeed(IndexLock.CurrentLockTimeout, Duration.seconds(5))`. `defaultTimeout` (30 s) unless one
 * is provided.
 *
 * @since 0.1.0
 * @category context
 */
export const CurrentLockTimeout: Context.Reference<CurrentLockTimeout, Duration.Duration> = internal.CurrentLockTimeout

/**
 * Builds an `IndexLock` from a platform backend. Each instance serialises paths within itself, so a
 * process should use one instance (a layer is built once). It waits as long as `CurrentLockTimeout` says
 * where each lock is acquired, unless `options.timeout` fixes the wait for this instance.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (backend: LockBackend, options?: LockOptions) => IndexLock = internal.make
