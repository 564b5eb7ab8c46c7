/**
 * The index lock on Node: flock(2) on `<layout>/index.json.lock`, the same lock buildkit and buildx take, so
 * ocidx and they can share a layout directory. flock is libc's, called through koffi (prebuilt, no compiler,
 * any Node version), which is loaded with the first lock, not on import. Each attempt is non-blocking
 * (`LOCK_NB`); `@ocidx/core/IndexLock` retries it on a jittered backoff until the deadline, so no thread ever
 * waits in flock and a wait can always be interrupted or timed out. Linux and macOS are supported; elsewhere
 * writers fail with `LockError` (reason "unsupported") and readers go on without a lock.
 *
 * @since 0.1.0
 */
import type * as IndexLock from "@ocidx/core/IndexLock"
import type { Layer } from "effect"
import * as internal from "./internal/nodeIndexLock.js"

/**
 * One flock(2) attempt, as the protocol says: open the lock file read-write (created 0644 if missing, never
 * deleted), `LOCK_SH|LOCK_NB` or `LOCK_EX|LOCK_NB`, then check that the path still names the locked file
 * (buildkit unlinks its lock file after each operation) and report `None` so the caller retries if not.
 * Where the lock file cannot be created (EROFS, EPERM, EACCES) a shared attempt proceeds without a lock and
 * an exclusive one fails with `LockError` (reason "read-only" or "permission"). Release unlocks and closes,
 * and never fails.
 *
 * @since 0.1.0
 * @category backend
 */
export const backend: IndexLock.LockBackend = internal.backend

/**
 * An `IndexLock` on flock(2). It also serialises paths within itself, so a process should use one. It waits
 * as long as `IndexLock.CurrentLockTimeout` says where a lock is acquired (30 seconds unless provided).
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: () => IndexLock.IndexLock = internal.make

/**
 * Provides the flock(2) `IndexLock`. The timeout is not part of the layer: provide
 * `IndexLock.CurrentLockTimeout` around the program.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: Layer.Layer<IndexLock.IndexLock> = internal.layer
