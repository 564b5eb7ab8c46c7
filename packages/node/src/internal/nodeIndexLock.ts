/** @internal */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { LockError } from "@ocidx/core/Errors"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Flock from "./flock.js"

/**
 * The device and inode of a file, as bigints so large inode numbers compare exactly.
 *
 * @internal
 */
export interface FileIdentity {
  readonly dev: bigint
  readonly ino: bigint
}

/**
 * The system calls the backend makes. Tests substitute some of them to stage races and errors.
 *
 * @internal
 */
export interface LockSyscalls {
  readonly open: (path: string, flags: number, mode: number) => Effect.Effect<number, NodeJS.ErrnoException>
  readonly flock: (fd: number, operation: number) => Effect.Effect<void, NodeJS.ErrnoException>
  /** flock(2) made at once, outside any effect: 0 on success, else the errno (-1 when it cannot be called). */
  readonly flockNow: (fd: number, operation: number) => number
  readonly fstat: (fd: number) => Effect.Effect<FileIdentity, NodeJS.ErrnoException>
  readonly stat: (path: string) => Effect.Effect<FileIdentity, NodeJS.ErrnoException>
  readonly close: (fd: number) => Effect.Effect<void, NodeJS.ErrnoException>
}

/** @internal */
export const LOCK_SH: number = Flock.LOCK_SH
/** @internal */
export const LOCK_EX: number = Flock.LOCK_EX
/** @internal */
export const LOCK_NB: number = Flock.LOCK_NB
/** @internal */
export const LOCK_UN: number = Flock.LOCK_UN

/**
 * Read-write, created if missing. libuv adds O_CLOEXEC, so child processes never inherit the lock. O_NOFOLLOW:
 * a lock file that is a symbolic link fails with ELOOP instead of creating or opening its target, which may
 * lie outside the layout (docs/guarantees.md, "Link policy").
 * @internal
 */
export const openFlags: number = NodeFs.constants.O_RDWR | NodeFs.constants.O_CREAT | NodeFs.constants.O_NOFOLLOW

/**
 * For a lock file that exists but cannot be opened for writing; O_NONBLOCK so a FIFO cannot stall the open,
 * O_NOFOLLOW so a link is never followed.
 * @internal
 */
export const readOnlyFlags: number =
  NodeFs.constants.O_RDONLY | NodeFs.constants.O_NONBLOCK | NodeFs.constants.O_NOFOLLOW

/** @internal */
export const lockFileMode = 0o644

/** A directory opened only to be locked. @internal */
export const directoryFlags: number = NodeFs.constants.O_RDONLY | NodeFs.constants.O_DIRECTORY

const identity = (stats: NodeFs.BigIntStats): FileIdentity => ({ dev: stats.dev, ino: stats.ino })

/** What a synchronous node:fs call threw: an Error carrying errno, code and syscall. */
const asErrno = (cause: unknown): NodeJS.ErrnoException => (cause instanceof Error ? cause : new Error(String(cause)))

const sync = <A>(call: () => A): Effect.Effect<A, NodeJS.ErrnoException> => Effect.try({ try: call, catch: asErrno })

/**
 * The real system calls, each made synchronously: every one is as short as a stat (flock is libc's through
 * koffi, with LOCK_NB or LOCK_UN, so it never waits), and a trip through libuv's thread pool for each would
 * cost more than the call. An acquire or a release is a handful of them; waiting for a busy lock never blocks.
 *
 * @internal
 */
export const nodeSyscalls: LockSyscalls = {
  open: (path, flags, mode) => sync(() => NodeFs.openSync(path, flags, mode)),
  flock: Flock.flock,
  flockNow: Flock.flock.now,
  fstat: (fd) => sync(() => identity(NodeFs.fstatSync(fd, { bigint: true }))),
  stat: (path) => sync(() => identity(NodeFs.statSync(path, { bigint: true }))),
  close: (fd) => sync(() => NodeFs.closeSync(fd))
}

const wouldBlockErrnos: ReadonlySet<number> = new Set([
  NodeOs.constants.errno.EAGAIN,
  NodeOs.constants.errno.EWOULDBLOCK
])

/** The longest a waiter sleeps between two looks at a busy lock: the latency it may add after a release. */
const maxLookDelayMs = 10

const isWouldBlock = (error: NodeJS.ErrnoException): boolean => error.code === "EAGAIN" || error.code === "EWOULDBLOCK"

const isGone = (error: NodeJS.ErrnoException): boolean => error.code === "ENOENT" || error.code === "ENOTDIR"

/** No flock(2) to call on this platform: writers cannot lock, readers go on without a lock. */
const isUnsupported = (error: NodeJS.ErrnoException): boolean => error.code === Flock.unsupportedCode

/** Why a lock file cannot be opened for writing, when that is a property of the file system, not a fault. */
const unwritableReason = (error: NodeJS.ErrnoException): "read-only" | "permission" | undefined => {
  switch (error.code) {
    case "EROFS":
      return "read-only"
    case "EPERM":
    case "EACCES":
      return "permission"
    default:
      return undefined
  }
}

/** The result of opening the lock file: a descriptor to lock, or none when a read may go on without a lock. */
type Opened = Option.Option<number>

/** The outcome of one flock attempt that did not fail; "unsupported" lets a read go on without a lock. */
type Locked = "locked" | "busy" | "unsupported"

/**
 * Builds a backend on the given system calls.
 *
 * @internal
 */
export const makeBackend = (syscalls: LockSyscalls): IndexLock.LockBackend => {
  // The log annotations are added on the failure only: on every release they would cost more than the calls.
  const closeQuietly = (fd: number, lockPath: string): Effect.Effect<void> =>
    syscalls
      .close(fd)
      .pipe(
        Effect.catchAll((error) =>
          Effect.logWarning("could not close the lock file", error.code ?? error.message).pipe(
            Effect.annotateLogs({ lockPath })
          )
        )
      )

  const release = (fd: number, lockPath: string): Effect.Effect<void> =>
    syscalls.flock(fd, LOCK_UN).pipe(
      // Closing the descriptor drops the lock anyway, so a failed unlock is logged and the close goes on.
      Effect.catchAll((error) =>
        Effect.logWarning("could not unlock the lock file", error.code ?? error.message).pipe(
          Effect.annotateLogs({ lockPath })
        )
      ),
      Effect.zipRight(closeQuietly(fd, lockPath)),
      Effect.uninterruptible
    )

  const open = (lockPath: string, mode: IndexLock.LockMode): Effect.Effect<Opened, LockError> =>
    syscalls.open(lockPath, openFlags, lockFileMode).pipe(
      Effect.map(Option.some),
      Effect.catchAll((error): Effect.Effect<Opened, LockError> => {
        const unwritable = unwritableReason(error)
        if (unwritable === undefined) {
          // ELOOP: the lock file is a symbolic link. Readers fail too rather than read unlocked: a link there
          // is no accident, and the layout's writers could not lock it either.
          const reason = error.code === "ENOENT" ? "not-found" : error.code === "ELOOP" ? "symlink" : "io"
          return Effect.fail(new LockError({ path: lockPath, reason, cause: error }))
        }
        if (mode === "exclusive") {
          return Effect.fail(new LockError({ path: lockPath, reason: unwritable, cause: error }))
        }
        // A read still shares the lock of a lock file it can open read-only (e.g. a read-only view of a layout
        // someone else writes); when there is none, reads go on without a lock, as the protocol says.
        return syscalls.open(lockPath, readOnlyFlags, 0).pipe(
          Effect.map(Option.some),
          Effect.catchAll((readOnlyError) =>
            Effect.logDebug("the lock file cannot be created here; reading without a lock").pipe(
              Effect.annotateLogs({ lockPath, error: error.code ?? error.message, readOnly: readOnlyError.code ?? "" }),
              Effect.as(Option.none())
            )
          )
        )
      })
    )

  /** Whether `lockPath` still names the file open at `fd`; a lock on an unlinked or replaced file guards nothing. */
  const isCurrent = (fd: number, lockPath: string): Effect.Effect<boolean, LockError> =>
    Effect.all([syscalls.fstat(fd), syscalls.stat(lockPath)]).pipe(
      Effect.map(([held, current]) => held.dev === current.dev && held.ino === current.ino),
      Effect.catchIf(isGone, () => Effect.succeed(false)),
      Effect.mapError((error) => new LockError({ path: lockPath, reason: "io", cause: error }))
    )

  /**
   * Writers also hold the layout directory, which nobody unlinks. buildkit unlocks index.json.lock and then
   * unlinks it; an ocidx writer that locked in between passes the inode check, yet a second ocidx writer
   * then creates and locks a new file. The directory lock keeps ocidx writers apart through that gap; the
   * index.json.lock flock still keeps them apart from buildkit. `Some(release)` when held, or when the file
   * system cannot flock a directory (fcntl-emulated NFS): then only the lock file guards, as in buildkit.
   * Where flock(2) cannot be called at all, a writer fails here with reason "unsupported".
   */
  const lockDirectory = (lockPath: string): Effect.Effect<Option.Option<Effect.Effect<void>>, LockError> => {
    const directory = NodePath.dirname(lockPath)
    return syscalls.open(directory, directoryFlags, 0).pipe(
      Effect.mapError(
        (error) => new LockError({ path: lockPath, reason: isGone(error) ? "not-found" : "io", cause: error })
      ),
      Effect.flatMap((fd) =>
        syscalls.flock(fd, LOCK_EX | LOCK_NB).pipe(
          Effect.as(Option.some(release(fd, directory))),
          Effect.catchAll((error) =>
            isUnsupported(error)
              ? closeQuietly(fd, directory).pipe(
                  Effect.zipRight(Effect.fail(new LockError({ path: lockPath, reason: "unsupported", cause: error })))
                )
              : closeQuietly(fd, directory).pipe(
                  Effect.as(isWouldBlock(error) ? Option.none() : Option.some(Effect.void)),
                  Effect.tap(() =>
                    isWouldBlock(error)
                      ? Effect.void
                      : Effect.logDebug("cannot flock the layout directory; relying on the lock file alone").pipe(
                          Effect.annotateLogs({ directory, error: error.code ?? error.message })
                        )
                  )
                )
          )
        )
      )
    )
  }

  /**
   * One non-blocking flock on a descriptor a waiter keeps. Any failure but "busy" counts as "unsupported": the
   * waiter then drops the descriptor and makes a fresh attempt, which reports the error as a first one does.
   */
  const flockKept = (fd: number, operation: number): Effect.Effect<Locked> =>
    syscalls.flock(fd, operation | LOCK_NB).pipe(
      Effect.as<Locked>("locked"),
      Effect.catchIf(isWouldBlock, () => Effect.succeed<Locked>("busy")),
      Effect.catchAll(() => Effect.succeed<Locked>("unsupported"))
    )

  const tryAcquire = (
    lockPath: string,
    mode: IndexLock.LockMode
  ): Effect.Effect<Option.Option<Effect.Effect<void>>, LockError> =>
    mode === "shared"
      ? tryAcquireFile(lockPath, mode)
      : Effect.gen(function* () {
          const directoryLock = yield* lockDirectory(lockPath)
          if (Option.isNone(directoryLock)) return Option.none()
          const fileLock = yield* tryAcquireFile(lockPath, mode).pipe(Effect.tapError(() => directoryLock.value))
          if (Option.isNone(fileLock)) {
            yield* directoryLock.value
            return Option.none()
          }
          return Option.some(Effect.zipRight(fileLock.value, directoryLock.value))
        }).pipe(Effect.uninterruptible)

  const tryAcquireFile = (
    lockPath: string,
    mode: IndexLock.LockMode
  ): Effect.Effect<Option.Option<Effect.Effect<void>>, LockError> =>
    Effect.gen(function* () {
      const opened = yield* open(lockPath, mode)
      if (Option.isNone(opened)) return Option.some(Effect.void)
      const fd = opened.value
      const operation = (mode === "shared" ? LOCK_SH : LOCK_EX) | LOCK_NB
      const locked = yield* syscalls.flock(fd, operation).pipe(
        Effect.as<Locked>("locked"),
        Effect.catchIf(isWouldBlock, () => Effect.succeed<Locked>("busy")),
        Effect.catchIf(isUnsupported, (error) =>
          mode === "shared"
            ? Effect.logDebug("flock(2) is not available here; reading without a lock").pipe(
                Effect.annotateLogs({ lockPath, error: error.message }),
                Effect.as<Locked>("unsupported")
              )
            : closeQuietly(fd, lockPath).pipe(
                Effect.zipRight(Effect.fail(new LockError({ path: lockPath, reason: "unsupported", cause: error })))
              )
        ),
        Effect.catchAll((error) =>
          closeQuietly(fd, lockPath).pipe(
            Effect.zipRight(Effect.fail(new LockError({ path: lockPath, reason: "io", cause: error })))
          )
        )
      )
      if (locked !== "locked") {
        yield* closeQuietly(fd, lockPath)
        return locked === "busy" ? Option.none() : Option.some(Effect.void)
      }
      const current = yield* isCurrent(fd, lockPath).pipe(Effect.tapError(() => release(fd, lockPath)))
      if (!current) {
        yield* release(fd, lockPath)
        return Option.none()
      }
      return Option.some(release(fd, lockPath))
    }).pipe(
      // One attempt never waits, so it runs to the end: an interruption mid-way would leak the descriptor.
      Effect.uninterruptible
    )

  /**
   * A descriptor a waiter keeps open between its attempts; `undefined` once closed or handed to a release,
   * which then owns it. The scope closes whatever is still kept, so an interrupted or timed-out wait leaves
   * no descriptor open, and never holds a lock: an attempt either hands its locked descriptor over or unlocks.
   */
  interface Kept {
    fd: number | undefined
    /** The descriptor holds the lock a look found free, for the attempt that follows to take as its own. */
    looked: boolean
  }

  const keep = (opened: Effect.Effect<Option.Option<number>, LockError>, path: string) =>
    Effect.acquireRelease(
      Effect.map(opened, (fd): Kept => ({ fd: Option.getOrUndefined(fd), looked: false })),
      (kept) => Effect.suspend(() => (kept.fd === undefined ? Effect.void : closeQuietly(kept.fd, path)))
    )

  /** Lets go of a kept descriptor (unlocking it first if `locked`), so the next attempt starts afresh. */
  const drop = (kept: Kept, path: string, locked: boolean): Effect.Effect<void> =>
    Effect.suspend(() => {
      const fd = kept.fd
      kept.fd = undefined
      return fd === undefined ? Effect.void : locked ? release(fd, path) : closeQuietly(fd, path)
    })

  /**
   * Waits until the kept descriptor may be locked in `operation`: sleeps on a plain timer, then looks with a
   * non-blocking flock, outside the effect runtime, since on a busy machine each wake-up of an effect costs
   * several times a timer's and the holder needs that CPU. A look that finds the lock free keeps it for the
   * attempt that follows: unlocking it there would let another waiter or the releasing process take it in the
   * millisecond before the attempt runs, and send this waiter back to sleep. The lock stays on the kept
   * descriptor, so the waiter's scope drops it if the wait ends first, and the next wait unlocks it if the
   * attempt never reached the backend (a fiber of this process held the path). With no descriptor to look at,
   * or an error other than "busy", it lets the attempt find out. The delay before each look doubles from 1 ms to 10 ms over the whole wait (an attempt that loses
   * the race, or a look that cannot see what blocks the attempt, never makes it spin), jittered so that
   * waiters do not wake together.
   */
  const untilFree = (kept: Kept, operation: number): Effect.Effect<void> => {
    let delay = 1
    return Effect.async<void>((resume) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      if (kept.looked) {
        kept.looked = false
        // Should the unlock fail, the next attempt takes the lock this descriptor still holds.
        if (kept.fd !== undefined) syscalls.flockNow(kept.fd, LOCK_UN)
      }
      const look = (): void => {
        const fd = kept.fd
        const errno = fd === undefined ? -1 : syscalls.flockNow(fd, operation | LOCK_NB)
        if (errno === 0 && fd !== undefined) kept.looked = true
        if (errno !== 0 && wouldBlockErrnos.has(errno)) {
          sleep()
          return
        }
        resume(Effect.void)
      }
      const sleep = (): void => {
        timer = setTimeout(look, delay * (0.75 + Math.random() / 2))
        delay = Math.min(delay * 2, maxLookDelayMs)
      }
      sleep()
      return Effect.sync(() => clearTimeout(timer))
    })
  }

  /**
   * Exclusive: the waiter keeps the layout directory open, so while another ocidx writer holds it each attempt
   * is one non-blocking flock, made at once on this thread. Holding the directory, it goes on as `tryAcquire`
   * does with index.json.lock. Any answer but "busy" from the directory's flock (it cannot be locked here, or
   * the descriptor was let go) hands the attempt to `tryAcquire`, which knows what each one means.
   */
  const exclusiveWaiter = (lockPath: string) => {
    const directory = NodePath.dirname(lockPath)
    return Effect.map(
      keep(
        syscalls.open(directory, directoryFlags, 0).pipe(
          Effect.map(Option.some),
          // tryAcquire reports why the directory cannot be opened, if it still cannot.
          Effect.orElseSucceed(() => Option.none<number>())
        ),
        directory
      ),
      (kept): IndexLock.LockWaiter => ({
        untilFree: untilFree(kept, LOCK_EX),
        tryAcquire: Effect.gen(function* () {
          // This attempt takes over a lock a look kept: every way out below hands it over or lets it go.
          kept.looked = false
          const fd = kept.fd
          if (fd === undefined) return yield* tryAcquire(lockPath, "exclusive")
          const directoryLocked = yield* flockKept(fd, LOCK_EX)
          if (directoryLocked === "busy") return Option.none()
          if (directoryLocked === "unsupported") {
            yield* drop(kept, directory, false)
            return yield* tryAcquire(lockPath, "exclusive")
          }
          const fileLock = yield* tryAcquireFile(lockPath, "exclusive").pipe(
            Effect.tapError(() => drop(kept, directory, true))
          )
          if (Option.isNone(fileLock)) {
            // buildkit holds index.json.lock: unlock the directory and keep it open for the next attempt.
            yield* syscalls.flock(fd, LOCK_UN).pipe(Effect.catchAll(() => drop(kept, directory, true)))
            return Option.none()
          }
          kept.fd = undefined
          return Option.some(Effect.zipRight(fileLock.value, release(fd, directory)))
        }).pipe(Effect.uninterruptible)
      })
    )
  }

  /**
   * Shared: the waiter keeps index.json.lock open, so while a writer holds it each attempt is one non-blocking
   * flock. A lock taken on a file that is no longer at the path (buildkit unlinked it) is let go, and the next
   * attempt opens the path again.
   */
  const sharedWaiter = (lockPath: string) =>
    Effect.map(
      keep(Effect.succeed(Option.none()), lockPath),
      (kept): IndexLock.LockWaiter => ({
        untilFree: untilFree(kept, LOCK_SH),
        tryAcquire: Effect.gen(function* () {
          kept.looked = false
          if (kept.fd === undefined) {
            const opened = yield* open(lockPath, "shared")
            // Nothing to lock: the read goes on without a lock, as `tryAcquire` says.
            if (Option.isNone(opened)) return Option.some(Effect.void)
            kept.fd = opened.value
          }
          const fd = kept.fd
          const locked = yield* flockKept(fd, LOCK_SH)
          if (locked === "busy") return Option.none()
          if (locked === "unsupported") {
            yield* drop(kept, lockPath, false)
            return yield* tryAcquireFile(lockPath, "shared")
          }
          const current = yield* isCurrent(fd, lockPath).pipe(Effect.tapError(() => drop(kept, lockPath, true)))
          if (!current) {
            yield* drop(kept, lockPath, true)
            return Option.none()
          }
          kept.fd = undefined
          return Option.some(release(fd, lockPath))
        }).pipe(Effect.uninterruptible)
      })
    )

  const waiter = (
    lockPath: string,
    mode: IndexLock.LockMode
  ): Effect.Effect<IndexLock.LockWaiter, LockError, Scope.Scope> =>
    mode === "shared" ? sharedWaiter(lockPath) : exclusiveWaiter(lockPath)

  return { tryAcquire, waiter }
}

/** @internal */
export const backend: IndexLock.LockBackend = makeBackend(nodeSyscalls)

/** The timeout is read from `IndexLock.CurrentLockTimeout` at each acquire. @internal */
export const make = (): IndexLock.IndexLock => IndexLock.make(backend)

/** @internal */
export const layer: Layer.Layer<IndexLock.IndexLock> = Layer.sync(IndexLock.IndexLock, make)
