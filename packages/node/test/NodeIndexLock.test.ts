import * as NodeFs from "node:fs"
import * as NodeFsPromises from "node:fs/promises"
import * as NodePath from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { LockError } from "@ocidx/core/Errors"
import * as IndexLock from "@ocidx/core/IndexLock"
import { Deferred, Duration, Effect, Exit, Fiber, Logger } from "effect"
import * as internal from "../src/internal/nodeIndexLock.js"
import * as NodeIndexLock from "../src/NodeIndexLock.js"
import { canFlock, hasFlockCommand, holdFlock } from "@ocidx/testkit/Flock"
import { canChattr, canMountTmpfs, immutable, readOnlyTmpfs } from "@ocidx/testkit/ReadOnly"
import { tempDir } from "@ocidx/testkit/TempDir"

const lockFile = "index.json.lock"

/** A flock lock whose acquires wait up to `timeout`, provided as a program provides it. */
const lockWaiting = (timeout: Duration.DurationInput): IndexLock.IndexLock => {
  const lock = NodeIndexLock.make()
  return {
    acquire: (lockPath, mode) =>
      lock.acquire(lockPath, mode).pipe(Effect.provideService(IndexLock.CurrentLockTimeout, Duration.decode(timeout)))
  }
}

/** Takes the lock and lets it go at once. */
const takeOnce = (lock: IndexLock.IndexLock, lockPath: string, mode: IndexLock.LockMode) =>
  Effect.scoped(lock.acquire(lockPath, mode))

/** The lock error of an acquire that must fail. */
const lockFailure = (lock: IndexLock.IndexLock, lockPath: string, mode: IndexLock.LockMode) =>
  takeOnce(lock, lockPath, mode).pipe(
    Effect.catchTags({ LockError: (error) => Effect.succeed(error) }),
    Effect.flatMap((result) =>
      result instanceof LockError
        ? Effect.succeed(result)
        : Effect.dieMessage(`${mode} acquire of ${lockPath} succeeded`)
    )
  )

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code })

/** Descriptors of this process that are open on `file`. */
const openDescriptorsOn = (file: string): Array<string> => {
  const target = NodeFs.realpathSync(file)
  return NodeFs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return NodeFs.readlinkSync(`/proc/self/fd/${fd}`) === target
    } catch {
      return false
    }
  })
}

const isDoneLive = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.map(Fiber.poll(fiber), (exit) => exit._tag === "Some")

/** Many small writes and reads at once: more than libuv's 4 worker threads. */
const fileIo = (dir: string) =>
  Effect.forEach(
    Array.from({ length: 16 }, (_, i) => NodePath.join(dir, `io-${i}`)),
    (file) =>
      Effect.promise(async () => {
        await NodeFsPromises.writeFile(file, file)
        return NodeFsPromises.readFile(file, "utf8")
      }),
    { concurrency: "unbounded" }
  )

describe("NodeIndexLock", () => {
  it.scopedLive(
    "a shared holder lets another shared acquire through and makes an exclusive one wait, then time out",
    () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        // Two instances, as two processes: each has its own in-memory table, so only flock(2) keeps them apart.
        const holder = NodeIndexLock.make()
        const other = lockWaiting("300 millis")
        yield* holder.acquire(lockPath, "shared")

        yield* takeOnce(other, lockPath, "shared")
        const [waited, error] = yield* Effect.timed(lockFailure(other, lockPath, "exclusive"))

        expect(error._tag).toBe("LockError")
        expect(error.reason).toBe("timeout")
        expect(error.path).toBe(lockPath)
        expect(Duration.toMillis(waited)).toBeGreaterThanOrEqual(290)
      })
  )

  describe.skipIf(!hasFlockCommand)("with the util-linux flock command (needs /usr/bin/flock)", () => {
    it.scopedLive("waits for a flock -x holder and takes the lock once it exits", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        const holder = yield* holdFlock(lockPath, "exclusive", "1 second")
        const lock = lockWaiting("5 seconds")

        const [waited] = yield* Effect.timed(
          Effect.scoped(
            Effect.gen(function* () {
              yield* lock.acquire(lockPath, "exclusive")
              // The kernel drops the holder's lock as its process ends; node may report the exit a moment later.
              expect(yield* holder.exited).toBe(0)
              expect(yield* canFlock(lockPath, "shared")).toBe(false)
            })
          )
        )

        expect(Duration.toMillis(waited)).toBeGreaterThanOrEqual(700)
        expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
      })
    )

    it.scopedLive("fails at once with reason timeout when lockTimeout is 0 and flock -x holds the lock", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        yield* holdFlock(lockPath, "exclusive", "10 seconds")
        const lock = lockWaiting(0)

        for (const mode of ["shared", "exclusive"] as const) {
          const [waited, error] = yield* Effect.timed(lockFailure(lock, lockPath, mode))
          expect(error._tag).toBe("LockError")
          expect(error.reason).toBe("timeout")
          // The holder keeps the lock for 10 s, so a wait would have ended in success, not in this failure; the
          // bound is far from any machine's speed and only separates "at once" from "after the holder".
          expect(Duration.toMillis(waited)).toBeLessThan(5_000)
        }
      })
    )

    it.scopedLive("lets shared acquires through a flock -s holder and makes exclusive ones wait", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        const holder = yield* holdFlock(lockPath, "shared", "10 seconds")

        yield* takeOnce(lockWaiting(0), lockPath, "shared")
        const error = yield* lockFailure(lockWaiting("200 millis"), lockPath, "exclusive")
        expect(error.reason).toBe("timeout")

        yield* holder.kill
        yield* takeOnce(lockWaiting(0), lockPath, "exclusive")
      })
    )

    it.scopedLive(
      "writers also hold the layout directory: another writer's directory lock makes them wait, readers pass",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const lockPath = NodePath.join(dir, lockFile)
          // Another ocidx writer, as a process: it holds the directory, whatever happens to index.json.lock.
          const holder = yield* holdFlock(dir, "exclusive", "10 seconds")

          yield* takeOnce(lockWaiting(0), lockPath, "shared")
          const error = yield* lockFailure(lockWaiting("200 millis"), lockPath, "exclusive")
          expect(error.reason).toBe("timeout")
          // The lock file itself was free all along: only the directory kept the writer out.
          expect(yield* canFlock(lockPath, "exclusive")).toBe(true)

          yield* holder.kill
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* lockWaiting(0).acquire(lockPath, "exclusive")
              expect(yield* canFlock(dir, "exclusive")).toBe(false)
            })
          )
          expect(yield* canFlock(dir, "exclusive")).toBe(true)
        })
    )

    it.scopedLive("holds locks that util-linux flock sees", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        const lock = lockWaiting(0)

        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* lock.acquire(lockPath, "shared")
            expect(yield* canFlock(lockPath, "shared")).toBe(true)
            expect(yield* canFlock(lockPath, "exclusive")).toBe(false)
          })
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* lock.acquire(lockPath, "exclusive")
            expect(yield* canFlock(lockPath, "shared")).toBe(false)
          })
        )
        expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
      })
    )

    it.scopedLive("creates the lock file with mode 0644 and never deletes or replaces it", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        const lock = lockWaiting("1 second")

        yield* takeOnce(lock, lockPath, "exclusive")
        const created = NodeFs.statSync(lockPath)
        expect(created.mode & 0o777).toBe(0o644 & ~process.umask())

        for (const mode of ["shared", "exclusive", "shared"] as const) yield* takeOnce(lock, lockPath, mode)
        yield* Effect.scoped(
          Effect.all([lock.acquire(lockPath, "shared"), lock.acquire(lockPath, "shared")], { concurrency: 2 })
        )

        const after = NodeFs.statSync(lockPath)
        expect(after.ino).toBe(created.ino)
        expect(after.dev).toBe(created.dev)
        expect(openDescriptorsOn(lockPath)).toEqual([])
      })
    )

    it.scopedLive("takes the new lock file when the one it waits on is unlinked", () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* tempDir, lockFile)
        const holder = yield* holdFlock(lockPath, "exclusive", "10 seconds")
        const unlinkedIno = NodeFs.statSync(lockPath).ino
        const lock = lockWaiting("5 seconds")
        const acquired = yield* Deferred.make<void>()
        const done = yield* Deferred.make<void>()

        const fiber = yield* Effect.fork(
          Effect.scoped(
            lock
              .acquire(lockPath, "exclusive")
              .pipe(Effect.zipRight(Deferred.succeed(acquired, undefined)), Effect.zipRight(Deferred.await(done)))
          )
        )
        yield* Effect.sleep("200 millis")
        expect(yield* Deferred.isDone(acquired)).toBe(false)

        // As buildkit does after each operation; the holder keeps its lock on the unlinked file.
        NodeFs.unlinkSync(lockPath)
        yield* Deferred.await(acquired).pipe(Effect.timeout("2 seconds"))

        expect(yield* holder.hasExited).toBe(false)
        expect(NodeFs.statSync(lockPath).ino).not.toBe(unlinkedIno)
        expect(yield* canFlock(lockPath, "exclusive")).toBe(false)

        yield* Deferred.succeed(done, undefined)
        yield* Fiber.join(fiber)
        expect(NodeFs.existsSync(lockPath)).toBe(true)
        expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
      })
    )

    it.scopedLive(
      "rechecks the inode after flock: a lock file unlinked or replaced meanwhile is let go and retried",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          for (const replace of [false, true]) {
            const lockPath = NodePath.join(dir, `${replace ? "replaced" : "unlinked"}.lock`)
            let locks = 0
            let opens = 0
            let closes = 0
            // Counts only the lock file's descriptors: writers also lock the directory, which is not under test.
            const lockFileFds = new Set<number>()
            // Another party unlinks (and maybe recreates) the file between ocidx's flock and its inode check.
            const syscalls: internal.LockSyscalls = {
              ...internal.nodeSyscalls,
              open: (path, flags, mode) =>
                internal.nodeSyscalls.open(path, flags, mode).pipe(
                  Effect.tap((fd) => {
                    if (path !== lockPath) return
                    lockFileFds.add(fd)
                    opens++
                  })
                ),
              close: (fd) =>
                internal.nodeSyscalls.close(fd).pipe(
                  Effect.tap(() => {
                    if (lockFileFds.delete(fd)) closes++
                  })
                ),
              flock: (fd, operation) =>
                internal.nodeSyscalls.flock(fd, operation).pipe(
                  Effect.tap(() => {
                    if (operation & internal.LOCK_UN || !lockFileFds.has(fd)) return
                    locks++
                    if (locks > 1) return
                    NodeFs.unlinkSync(lockPath)
                    if (replace) NodeFs.writeFileSync(lockPath, "")
                  })
                )
            }
            const lock = IndexLock.make(internal.makeBackend(syscalls), { timeout: "2 seconds" })

            yield* Effect.scoped(
              Effect.gen(function* () {
                yield* lock.acquire(lockPath, "exclusive")
                expect(locks).toBe(2)
                expect(opens).toBe(2)
                expect(closes).toBe(1)
                expect(yield* canFlock(lockPath, "exclusive")).toBe(false)
              })
            )
            expect(closes).toBe(2)
            expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
          }
        })
    )

    it.scopedLive("acquires that time out or are interrupted leave nothing held and no libuv thread blocked", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const lockPath = NodePath.join(dir, lockFile)
        const holder = yield* holdFlock(lockPath, "exclusive", "20 seconds")
        const modes = ["shared", "exclusive"] as const
        const short = lockWaiting("100 millis")
        const long = lockWaiting("30 seconds")

        const waiting = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => modes[i % 2] ?? "shared"),
          (mode) => Effect.fork(takeOnce(long, lockPath, mode))
        )
        const timedOut = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => modes[i % 2] ?? "shared"),
          (mode) => lockFailure(short, lockPath, mode),
          { concurrency: "unbounded" }
        )
        expect(timedOut.map((error) => error.reason)).toEqual(Array.from({ length: 10 }, () => "timeout"))

        // While ten fibers still wait for the lock, the file system answers: had they blocked libuv's four
        // threads, it would not until their 30 s deadline. The bound is far from that and from any machine's speed.
        const [ioTime, contents] = yield* Effect.timed(fileIo(dir))
        expect(contents).toHaveLength(16)
        expect(Duration.toMillis(ioTime)).toBeLessThan(10_000)

        const exits = yield* Effect.forEach(waiting, (fiber, i) =>
          Effect.sleep(Duration.millis(i * 3)).pipe(Effect.zipRight(Fiber.interrupt(fiber)))
        )
        for (const exit of exits) expect(Exit.isInterrupted(exit)).toBe(true)

        yield* holder.kill
        expect(openDescriptorsOn(lockPath)).toEqual([])
        expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
        yield* takeOnce(lockWaiting(0), lockPath, "exclusive")
        yield* takeOnce(short, lockPath, "exclusive")
        yield* takeOnce(long, lockPath, "exclusive").pipe(Effect.timeout("10 seconds"))

        const [ioAfter] = yield* Effect.timed(fileIo(dir))
        expect(Duration.toMillis(ioAfter)).toBeLessThan(10_000)
      })
    )

    it.scopedLive.skipIf(!canChattr)(
      "an immutable lock file (EPERM): reads share it read-only, writes fail with reason permission (needs root on a file system with chattr +i)",
      () =>
        Effect.gen(function* () {
          const lockPath = NodePath.join(yield* tempDir, lockFile)
          NodeFs.writeFileSync(lockPath, "")
          yield* immutable(lockPath)
          const lock = lockWaiting(0)

          const error = yield* lockFailure(lock, lockPath, "exclusive")
          expect(error._tag).toBe("LockError")
          expect(error.reason).toBe("permission")
          expect(error.cause).toMatchObject({ code: "EPERM" })

          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* lock.acquire(lockPath, "shared")
              expect(yield* canFlock(lockPath, "exclusive")).toBe(false)
              expect(yield* canFlock(lockPath, "shared")).toBe(true)
            })
          )
          expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
        })
    )

    it.scopedLive.skipIf(!canMountTmpfs)(
      "a read-only mount with a lock file: reads share it, writes fail with reason read-only (needs root that can mount a tmpfs)",
      () =>
        Effect.gen(function* () {
          const dir = yield* readOnlyTmpfs((dir) => NodeFs.writeFileSync(NodePath.join(dir, lockFile), ""))
          const lockPath = NodePath.join(dir, lockFile)
          const lock = lockWaiting(0)

          const error = yield* lockFailure(lock, lockPath, "exclusive")
          expect(error.reason).toBe("read-only")
          expect(error.cause).toMatchObject({ code: "EROFS" })

          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* lock.acquire(lockPath, "shared")
              expect(yield* canFlock(lockPath, "exclusive")).toBe(false)
            })
          )
        })
    )
  })

  it.scopedLive.skipIf(!canMountTmpfs)(
    "a read-only mount without a lock file: reads go on without a lock, writes fail with reason read-only (needs root that can mount a tmpfs)",
    () =>
      Effect.gen(function* () {
        const lockPath = NodePath.join(yield* readOnlyTmpfs(), lockFile)
        const lock = lockWaiting(0)

        yield* Effect.scoped(Effect.all([lock.acquire(lockPath, "shared"), lock.acquire(lockPath, "shared")]))
        expect(NodeFs.existsSync(lockPath)).toBe(false)

        const error = yield* lockFailure(lock, lockPath, "exclusive")
        expect(error._tag).toBe("LockError")
        expect(error.reason).toBe("read-only")
        expect(error.path).toBe(lockPath)
        expect(error.cause).toMatchObject({ code: "EROFS" })
      })
  )

  it.scopedLive("a missing layout directory fails with reason not-found", () =>
    Effect.gen(function* () {
      const lockPath = NodePath.join(yield* tempDir, "no-such-layout", lockFile)
      const lock = lockWaiting("1 second")
      for (const mode of ["shared", "exclusive"] as const) {
        const error = yield* lockFailure(lock, lockPath, mode)
        expect(error.reason).toBe("not-found")
        expect(error.cause).toMatchObject({ code: "ENOENT" })
      }
    })
  )

  it.scopedLive(
    "a lock file that is a symbolic link fails both modes with reason symlink; its target is never created",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const outside = yield* tempDir
        const lockPath = NodePath.join(dir, lockFile)
        const lock = lockWaiting("1 second")
        // A dangling link (O_CREAT would create the target) and a link to an existing file (would lock it).
        for (const target of [NodePath.join(outside, "created-through-the-link"), NodePath.join(outside, "existing")]) {
          if (target.endsWith("existing")) NodeFs.writeFileSync(target, "")
          NodeFs.rmSync(lockPath, { force: true })
          NodeFs.symlinkSync(target, lockPath)
          for (const mode of ["shared", "exclusive"] as const) {
            const error = yield* lockFailure(lock, lockPath, mode)
            expect(error.reason).toBe("symlink")
            expect(error.cause).toMatchObject({ code: "ELOOP" })
            expect(error.message).toContain("symbolic link")
          }
        }
        expect(NodeFs.readdirSync(outside)).toEqual(["existing"])
      })
  )

  describe("waiting", () => {
    it.scopedLive("a writer waiting on another writer's directory lock takes the lock once it is let go", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const lockPath = NodePath.join(dir, lockFile)
        // Another ocidx writer holds the layout directory.
        const holder = yield* holdFlock(dir, "exclusive")
        const fiber = yield* Effect.fork(takeOnce(lockWaiting("10 seconds"), lockPath, "exclusive"))
        yield* Effect.sleep("200 millis")
        expect(yield* isDoneLive(fiber)).toBe(false)
        // The waiter keeps the directory open between its looks, and holds nothing.
        expect(openDescriptorsOn(dir)).toHaveLength(1)
        yield* holder.kill
        yield* Fiber.join(fiber).pipe(Effect.timeout("5 seconds"))
        expect(openDescriptorsOn(dir)).toEqual([])
        expect(openDescriptorsOn(lockPath)).toEqual([])
        expect(yield* canFlock(dir, "exclusive")).toBe(true)
      })
    )

    for (const mode of ["exclusive", "shared"] as const) {
      it.scopedLive(`an interrupted ${mode} wait closes what it opened and holds nothing`, () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const lockPath = NodePath.join(dir, lockFile)
          const holders = [yield* holdFlock(lockPath, "exclusive")]
          if (mode === "exclusive") holders.push(yield* holdFlock(dir, "exclusive"))
          const fiber = yield* Effect.fork(takeOnce(lockWaiting("10 seconds"), lockPath, mode))
          yield* Effect.sleep("200 millis")
          expect(yield* isDoneLive(fiber)).toBe(false)
          yield* Fiber.interrupt(fiber)
          expect(openDescriptorsOn(dir)).toEqual([])
          expect(openDescriptorsOn(lockPath)).toEqual([])
          for (const holder of holders) yield* holder.kill
          expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
          expect(yield* canFlock(dir, "exclusive")).toBe(true)
        })
      )
    }

    it.scopedLive(
      "a writer waiting behind a reader of its own process leaves the directory free between its looks",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const lockPath = NodePath.join(dir, lockFile)
          const lock = lockWaiting("10 seconds")
          const released = yield* Deferred.make<void>()
          // The reader holds index.json.lock shared, not the directory: each look of the waiting writer finds the
          // directory free, and its attempt stops at the in-memory table.
          yield* Effect.fork(Effect.scoped(Effect.zipRight(lock.acquire(lockPath, "shared"), Deferred.await(released))))
          yield* Effect.sleep("50 millis")
          const writer = yield* Effect.fork(takeOnce(lock, lockPath, "exclusive"))
          yield* Effect.sleep("200 millis")
          expect(yield* isDoneLive(writer)).toBe(false)
          // Another process's writer could take the directory: the waiter's looks keep nothing past their attempt.
          expect(yield* canFlock(dir, "exclusive")).toBe(true)
          yield* Deferred.succeed(released, undefined)
          yield* Fiber.join(writer).pipe(Effect.timeout("5 seconds"))
          expect(yield* canFlock(dir, "exclusive")).toBe(true)
        })
    )

    it.scopedLive("a reader waiting on a writer takes the shared lock once the writer lets go", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const lockPath = NodePath.join(dir, lockFile)
        const holder = yield* holdFlock(lockPath, "exclusive")
        const fiber = yield* Effect.fork(takeOnce(lockWaiting("10 seconds"), lockPath, "shared"))
        yield* Effect.sleep("200 millis")
        expect(yield* isDoneLive(fiber)).toBe(false)
        yield* holder.kill
        yield* Fiber.join(fiber).pipe(Effect.timeout("5 seconds"))
        expect(openDescriptorsOn(lockPath)).toEqual([])
      })
    )
  })

  describe("with injected system calls", () => {
    const identity = { dev: 1n, ino: 2n }
    const fd = 42

    /** System calls that succeed on a pretend descriptor, except where overridden; each call is recorded. */
    const fake = (overrides: Partial<internal.LockSyscalls>) => {
      const calls: Array<string> = []
      const base: internal.LockSyscalls = {
        open: () => Effect.succeed(fd),
        flock: (_, operation) => Effect.sync(() => void calls.push(`flock ${operation}`)),
        fstat: () => Effect.succeed(identity),
        stat: () => Effect.succeed(identity),
        close: () => Effect.sync(() => void calls.push("close")),
        flockNow: (_, operation) => {
          calls.push(`flockNow ${operation}`)
          return 0
        }
      }
      const syscalls: internal.LockSyscalls = {
        open: (path, flags, mode) =>
          Effect.sync(() => calls.push(`open ${path} ${flags}`)).pipe(
            Effect.zipRight((overrides.open ?? base.open)(path, flags, mode))
          ),
        flock: overrides.flock ?? base.flock,
        fstat: overrides.fstat ?? base.fstat,
        stat: overrides.stat ?? base.stat,
        close: overrides.close ?? base.close,
        flockNow: overrides.flockNow ?? base.flockNow
      }
      return { calls, lock: IndexLock.make(internal.makeBackend(syscalls), { timeout: 0 }) }
    }

    const failingOpen =
      (readWrite: string, readOnly: string | undefined): internal.LockSyscalls["open"] =>
      (_, flags) => {
        // The layout directory itself opens read-only, which these file systems allow.
        if (flags === internal.directoryFlags) return Effect.succeed(fd)
        if (flags === internal.openFlags) return Effect.fail(errno(readWrite))
        return readOnly === undefined ? Effect.succeed(fd) : Effect.fail(errno(readOnly))
      }

    const cases = [
      { code: "EROFS", exclusive: "read-only" },
      { code: "EPERM", exclusive: "permission" },
      { code: "EACCES", exclusive: "permission" }
    ] as const

    for (const { code, exclusive } of cases) {
      it.effect(`${code} on open: exclusive fails with reason ${exclusive}, shared goes on without a lock`, () =>
        Effect.gen(function* () {
          const { calls, lock } = fake({ open: failingOpen(code, "ENOENT") })
          const error = yield* lockFailure(lock, "/layout/index.json.lock", "exclusive")
          expect(error._tag).toBe("LockError")
          expect(error.reason).toBe(exclusive)
          expect(error.path).toBe("/layout/index.json.lock")
          expect(error.cause).toMatchObject({ code })

          calls.length = 0
          yield* takeOnce(lock, "/layout/index.json.lock", "shared")
          expect(calls).toEqual([
            `open /layout/index.json.lock ${internal.openFlags}`,
            `open /layout/index.json.lock ${internal.readOnlyFlags}`
          ])
        })
      )

      it.effect(`${code} on open: shared locks an existing lock file opened read-only`, () =>
        Effect.gen(function* () {
          const { calls, lock } = fake({ open: failingOpen(code, undefined) })
          yield* takeOnce(lock, "/layout/index.json.lock", "shared")
          expect(calls).toEqual([
            `open /layout/index.json.lock ${internal.openFlags}`,
            `open /layout/index.json.lock ${internal.readOnlyFlags}`,
            `flock ${internal.LOCK_SH | internal.LOCK_NB}`,
            `flock ${internal.LOCK_UN}`,
            "close"
          ])
        })
      )
    }

    for (const [code, reason] of [
      ["ENOENT", "not-found"],
      ["EIO", "io"],
      ["EISDIR", "io"],
      ["EMFILE", "io"]
    ] as const) {
      it.effect(`${code} on open fails both modes with reason ${reason}`, () =>
        Effect.gen(function* () {
          const { lock } = fake({ open: () => Effect.fail(errno(code)) })
          for (const mode of ["shared", "exclusive"] as const) {
            const error = yield* lockFailure(lock, "/layout/index.json.lock", mode)
            expect(error.reason).toBe(reason)
            expect(error.cause).toMatchObject({ code })
          }
        })
      )
    }

    it.effect("EWOULDBLOCK from flock means busy: the descriptor is closed and the acquire times out", () =>
      Effect.gen(function* () {
        const { calls, lock } = fake({
          flock: (_, operation) =>
            Effect.sync(() => calls.push(`flock ${operation}`)).pipe(Effect.zipRight(Effect.fail(errno("EWOULDBLOCK"))))
        })
        const error = yield* lockFailure(lock, "/layout/index.json.lock", "exclusive")
        expect(error.reason).toBe("timeout")
        expect(calls.slice(1)).toEqual([`flock ${internal.LOCK_EX | internal.LOCK_NB}`, "close"])
      })
    )

    it.effect("another flock error fails with reason io and closes the descriptor", () =>
      Effect.gen(function* () {
        const { calls, lock } = fake({ flock: () => Effect.fail(errno("ENOLCK")) })
        const error = yield* lockFailure(lock, "/layout/index.json.lock", "shared")
        expect(error.reason).toBe("io")
        expect(error.cause).toMatchObject({ code: "ENOLCK" })
        expect(calls.at(-1)).toBe("close")
      })
    )

    it.effect("a lock file gone before the inode check is let go and counts as busy", () =>
      Effect.gen(function* () {
        const { calls, lock } = fake({ stat: () => Effect.fail(errno("ENOENT")) })
        const error = yield* lockFailure(lock, "/layout/index.json.lock", "exclusive")
        expect(error.reason).toBe("timeout")
        // The directory is locked first and let go last; the lock file in between is let go as well.
        expect(calls).toEqual([
          `open /layout ${internal.directoryFlags}`,
          `flock ${internal.LOCK_EX | internal.LOCK_NB}`,
          `open /layout/index.json.lock ${internal.openFlags}`,
          `flock ${internal.LOCK_EX | internal.LOCK_NB}`,
          `flock ${internal.LOCK_UN}`,
          "close",
          `flock ${internal.LOCK_UN}`,
          "close"
        ])
      })
    )

    it.live("a lock a look finds free stays the waiter's: a rival that comes after the look does not take it", () =>
      Effect.gen(function* () {
        // One lock on the layout directory: another writer holds it until the waiter's first look, and a rival
        // takes it whenever the waiter lets it go. index.json.lock (any other descriptor) is always free.
        const directoryFd = 7
        let holder: "other" | "waiter" | "rival" = "other"
        const tryDirectory = (operation: number): number => {
          if (operation & internal.LOCK_UN) {
            if (holder === "waiter") holder = "rival"
            return 0
          }
          if (holder === "other") holder = "waiter"
          return holder === "waiter" ? 0 : 11
        }
        let attempts = 0
        const syscalls: internal.LockSyscalls = {
          open: (_, flags) => Effect.succeed(flags === internal.directoryFlags ? directoryFd : 8),
          flock: (fd, operation) =>
            Effect.suspend(() => {
              if (fd !== directoryFd) return Effect.void
              // The attempt made before the wait finds the directory held.
              if (attempts++ === 0) return Effect.fail(errno("EAGAIN"))
              return tryDirectory(operation) === 0 ? Effect.void : Effect.fail(errno("EAGAIN"))
            }),
          flockNow: (fd, operation) => (fd === directoryFd ? tryDirectory(operation) : 0),
          fstat: () => Effect.succeed({ dev: 1n, ino: 2n }),
          stat: () => Effect.succeed({ dev: 1n, ino: 2n }),
          close: () => Effect.void
        }
        const lock = IndexLock.make(internal.makeBackend(syscalls), { timeout: "2 seconds" })
        const exit = yield* Effect.exit(takeOnce(lock, "/layout/index.json.lock", "exclusive"))
        assert.isTrue(Exit.isSuccess(exit))
        expect(holder).toBe("rival")
      })
    )

    it.effect("a failing unlock and close are logged, never raised", () =>
      Effect.gen(function* () {
        const warnings: Array<unknown> = []
        const logger = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(message)
        })
        const { lock } = fake({
          flock: (_, operation) => (operation & internal.LOCK_UN ? Effect.fail(errno("EBADF")) : Effect.void),
          close: () => Effect.fail(errno("EIO"))
        })
        const exit = yield* Effect.exit(takeOnce(lock, "/layout/index.json.lock", "exclusive")).pipe(
          Effect.provide(Logger.add(logger))
        )
        assert.isTrue(Exit.isSuccess(exit))
        // An unlock and a close warning each for the lock file and for the layout directory.
        expect(warnings).toHaveLength(4)
      })
    )
  })
})
