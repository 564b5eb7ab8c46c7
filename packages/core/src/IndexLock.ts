/**
 * The index lock: shared for reads, exclusive for writes, held for the life of a scope. A platform supplies
 * one non-blocking attempt (a `LockBackend`, e.g. flock(2)); this module adds in-process serialisation per
 * path, a jittered backoff and a deadline, so waiting never blocks a thread and can always be interrupted.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Option, Schedule, Scope } from "effect"
import { Context } from "effect"
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
   * interruption). Waits up to the configured timeout, then fails with `LockError` (reason "timeout").
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
 * @since 0.1.0
 * @category model
 */
export interface LockBackend {
  readonly tryAcquire: (
    lockPath: string,
    mode: LockMode
  ) => Effect.Effect<Option.Option<Effect.Effect<void>>, LockError>
}

/**
 * @since 0.1.0
 * @category model
 */
export interface LockOptions {
  /** How long to wait for the lock. `0` fails at once, as buildkit does. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The delays between attempts. Default: exponential from 1 ms, jittered, capped at 10 ms. */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * The default time to wait for the lock.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = internal.defaultTimeout

/**
 * Builds an `IndexLock` from a platform backend. Each instance serialises paths within itself, so a
 * process should use one instance (a layer is built once).
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (backend: LockBackend, options?: LockOptions) => IndexLock = internal.make
