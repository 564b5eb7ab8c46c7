/**
 * flock(2) from the C library, called through koffi: an FFI whose Node-API binaries ship prebuilt, so nothing
 * is compiled at install time and one build serves every Node version. koffi and libc are loaded on the first
 * call, never when this module is imported, so a program that takes no lock
 * never loads a native library.
 *
 * Linux and macOS are supported. Elsewhere, or when libc cannot be loaded, every call fails with `ENOSYS`
 * ("function not implemented"), which the lock backend turns into `LockError` "unsupported" for writers; a
 * seccomp filter that refuses the system call with ENOSYS means the same.
 *
 * @internal
 */
import * as NodeUtil from "node:util"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/** @internal */
export const LOCK_SH = 1
/** @internal */
export const LOCK_EX = 2
/** @internal */
export const LOCK_NB = 4
/** @internal */
export const LOCK_UN = 8

/** The code of a flock that cannot be called here (no libc, or a platform ocidx does not lock on). @internal */
export const unsupportedCode = "ENOSYS"

/**
 * One flock(2) call: 0 on success, else the errno, read right after the call on the same thread.
 *
 * @internal
 */
export type FlockCall = (fd: number, operation: number) => number

/**
 * flock(2) as the lock backend calls it: fails with an errno error (`code` "EAGAIN" when `LOCK_NB` finds the
 * lock held, "ENOSYS" when there is no flock to call).
 *
 * @internal
 */
export interface Flock {
  (fd: number, operation: number): Effect.Effect<void, NodeJS.ErrnoException>
  /**
   * The same call made at once, for code that runs outside any effect (a timer's callback): 0 on success, else
   * the errno. -1 until an earlier call has loaded flock(2), or when it cannot be loaded.
   */
  readonly now: (fd: number, operation: number) => number
}

/**
 * The C libraries that hold flock, in the order tried; none where ocidx does not lock. musl's loader answers
 * `libc.so.6` and `libc.so` with itself, so the glibc names also serve Alpine.
 *
 * @internal
 */
export const libraryCandidates = (platform: NodeJS.Platform): ReadonlyArray<string> => {
  switch (platform) {
    case "linux":
      return ["libc.so.6", "libc.so"]
    case "darwin":
      // In the dyld shared cache since macOS 11: dlopen finds it although no such file is on disk.
      return ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib"]
    default:
      return []
  }
}

/** A non-blocking flock interrupted by a signal is simply tried again, a few times. */
const interruptedRetries = 3

/**
 * Loads flock(2) from the platform's C library through koffi.
 *
 * @internal
 */
export const loadLibcFlock = (platform: NodeJS.Platform): Effect.Effect<FlockCall, Error> => {
  const candidates = libraryCandidates(platform)
  if (candidates.length === 0) {
    return Effect.fail(new Error(`ocidx locks with flock(2) on Linux and macOS only, not on ${platform}`))
  }
  return Effect.gen(function* () {
    // A run-time import: bundlers keep koffi (a native module) external, and nothing loads it before a lock.
    const koffi = yield* Effect.tryPromise({
      try: () => import("koffi"),
      catch: (cause) => new Error(`cannot load koffi: ${describe(cause)}`, { cause })
    }).pipe(Effect.map((module) => module.default))
    const { EINTR, EIO } = koffi.os.errno
    const cFlock = yield* Effect.firstSuccessOf(
      candidates.map((library) =>
        Effect.try({
          try: () => koffi.load(library).func("int flock(int fd, int operation)"),
          catch: (cause) => new Error(`cannot load flock(2) from ${library}: ${describe(cause)}`, { cause })
        })
      )
    )
    return (fd: number, operation: number): number => {
      for (let attempt = 0; ; attempt++) {
        // errno is read at once, before any other JavaScript can run and make a system call that changes it.
        koffi.errno(0)
        const result: unknown = cFlock(fd, operation)
        if (result === 0) return 0
        const errno = koffi.errno()
        if (errno !== EINTR || attempt >= interruptedRetries) return errno === 0 ? (EIO ?? 5) : errno
      }
    }
  })
}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * Node's table of errno names, read once: `getSystemErrorMap` builds a new map of every errno on each call, and
 * a waiter that polls a busy lock makes an EAGAIN error on every attempt.
 */
let systemErrors: ReadonlyMap<number, [string, string]> | undefined

/** An error shaped like Node's own: `code` "EAGAIN", negative `errno` as libuv reports it, and the call. */
const errnoException = (errno: number): NodeJS.ErrnoException => {
  systemErrors ??= NodeUtil.getSystemErrorMap()
  const [code, description] = systemErrors.get(-errno) ?? [`E${errno}`, "unknown error"]
  return Object.assign(new Error(`${code}: ${description}, flock`), { errno: -errno, code, syscall: "flock" })
}

const unavailable = (cause: Error): NodeJS.ErrnoException =>
  Object.assign(new Error(`flock(2) is not available: ${cause.message}`, { cause }), {
    code: unsupportedCode,
    syscall: "flock"
  })

/**
 * flock(2) on the given loader, which runs on the first call; its result, a function or a failure, is kept
 * for every later call. Two first calls at once may both load: loading libc twice is harmless.
 *
 * @internal
 */
export const makeFlock = (load: Effect.Effect<FlockCall, Error>): Flock => {
  let loaded: Either.Either<FlockCall, NodeJS.ErrnoException> | undefined
  const loadOnce: Effect.Effect<FlockCall, NodeJS.ErrnoException> = Effect.suspend(() =>
    loaded !== undefined
      ? loaded
      : load.pipe(
          Effect.mapError(unavailable),
          Effect.either,
          Effect.flatMap((result) => {
            loaded = result
            return result
          })
        )
  )
  const call = (fd: number, operation: number) =>
    Effect.flatMap(loadOnce, (flockCall) => {
      const errno = flockCall(fd, operation)
      return errno === 0 ? Effect.void : Effect.fail(errnoException(errno))
    })
  const now = (fd: number, operation: number): number =>
    loaded !== undefined && Either.isRight(loaded) ? loaded.right(fd, operation) : -1
  return Object.assign(call, { now })
}

/**
 * flock(2) from this platform's C library.
 *
 * @internal
 */
export const flock: Flock = makeFlock(Effect.suspend(() => loadLibcFlock(process.platform)))
