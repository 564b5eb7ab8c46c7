/**
 * The util-linux `flock` command as another process holding the layout's lock, as buildkit would: the
 * helpers of @ocidx/node's tests, under the names these tests use.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { canFlock, type FlockMode, holdFlock } from "../../../node/test/support/flock.js"

export type { FlockMode }

/** Holds the lock from another process until the scope closes. */
export const holdLock = (lockPath: string, mode: FlockMode): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.asVoid(holdFlock(lockPath, mode, "1 hour"))

/** Whether the lock can be taken right now without waiting (`flock -n`). */
export const lockIsFree: (lockPath: string, mode: FlockMode) => Effect.Effect<boolean, Error> = canFlock
