/**
 * flock(2) through koffi: real locks that util-linux `flock(1)` sees and that it blocks, errno codes as Node
 * reports them, and the platforms without flock, where writers fail with `LockError` "unsupported" and
 * readers go on without a lock.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { LockError } from "@ocidx/core/Errors"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as Reference from "@ocidx/core/Reference"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import { Effect, Either, Layer } from "effect"
import * as Flock from "../src/internal/flock.js"
import * as internal from "../src/internal/nodeIndexLock.js"
import * as NodeServices from "../src/NodeServices.js"
import { canFlock, hasFlockCommand, holdFlock } from "@ocidx/testkit/Flock"
import { tempDir } from "@ocidx/testkit/TempDir"

/** A file opened read-write, closed when the scope closes (which also drops any flock on it). */
const openFile = (path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => NodeFs.openSync(path, "a+")),
    (fd) => Effect.sync(() => NodeFs.closeSync(fd))
  )

/** The error of a flock call that must fail. */
const flockFailure = (fd: number, operation: number) =>
  Flock.flock(fd, operation).pipe(
    Effect.flip,
    Effect.catchAll(() => Effect.dieMessage(`flock(${fd}, ${operation}) succeeded`))
  )

const wouldBlock = ["EAGAIN", "EWOULDBLOCK"]

describe("flock(2) through koffi", () => {
  describe.skipIf(!hasFlockCommand)("with the util-linux flock command (needs /usr/bin/flock)", () => {
    it.scopedLive("sees EWOULDBLOCK while flock -x holds the file, and takes it once the holder is gone", () =>
      Effect.gen(function* () {
        const path = NodePath.join(yield* tempDir, "lock")
        const fd = yield* openFile(path)
        const holder = yield* holdFlock(path, "exclusive", "60 seconds")

        for (const operation of [Flock.LOCK_EX | Flock.LOCK_NB, Flock.LOCK_SH | Flock.LOCK_NB]) {
          const error = yield* flockFailure(fd, operation)
          expect(wouldBlock).toContain(error.code)
          expect(error.syscall).toBe("flock")
          expect(error.errno).toBeLessThan(0)
        }

        yield* holder.kill
        yield* Flock.flock(fd, Flock.LOCK_EX | Flock.LOCK_NB)
        expect(yield* canFlock(path, "shared")).toBe(false)
      })
    )

    it.scopedLive("holds locks flock(1) sees: exclusive, shared, and none after LOCK_UN", () =>
      Effect.gen(function* () {
        const path = NodePath.join(yield* tempDir, "lock")
        const fd = yield* openFile(path)

        yield* Flock.flock(fd, Flock.LOCK_EX | Flock.LOCK_NB)
        expect(yield* canFlock(path, "shared")).toBe(false)

        // flock(2) converts a held lock in place.
        yield* Flock.flock(fd, Flock.LOCK_SH | Flock.LOCK_NB)
        expect(yield* canFlock(path, "shared")).toBe(true)
        expect(yield* canFlock(path, "exclusive")).toBe(false)

        yield* Flock.flock(fd, Flock.LOCK_UN)
        expect(yield* canFlock(path, "exclusive")).toBe(true)
      })
    )
  })

  it.scopedLive("reports other errors with Node's codes: EBADF for a closed descriptor, EINVAL for no mode", () =>
    Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "lock")
      const closed = NodeFs.openSync(path, "a+")
      NodeFs.closeSync(closed)
      const badDescriptor = yield* flockFailure(closed, Flock.LOCK_EX | Flock.LOCK_NB)
      expect(badDescriptor).toMatchObject({ code: "EBADF", syscall: "flock" })
      expect(badDescriptor.message).toMatch(/^EBADF: /)

      const fd = yield* openFile(path)
      const noMode = yield* flockFailure(fd, Flock.LOCK_NB)
      expect(noMode).toMatchObject({ code: "EINVAL", syscall: "flock" })
    })
  )

  describe("where there is no flock(2) to call", () => {
    it.effect("the loader refuses platforms other than Linux and macOS", () =>
      Effect.gen(function* () {
        expect(Flock.libraryCandidates("linux")).toContain("libc.so.6")
        expect(Flock.libraryCandidates("darwin")).toContain("/usr/lib/libSystem.B.dylib")
        for (const platform of ["win32", "freebsd", "aix"] as const) {
          expect(Flock.libraryCandidates(platform)).toEqual([])
          const error = yield* Effect.flip(Flock.loadLibcFlock(platform))
          expect(error.message).toContain(platform)
        }
      })
    )

    it.effect("every call fails with ENOSYS, and the loader runs only once", () =>
      Effect.gen(function* () {
        let loads = 0
        const flock = Flock.makeFlock(
          Effect.suspend(() => {
            loads++
            return Effect.fail(new Error("no libc here"))
          })
        )
        for (const operation of [Flock.LOCK_SH | Flock.LOCK_NB, Flock.LOCK_UN]) {
          const error = yield* Effect.flip(flock(3, operation))
          expect(error.code).toBe(Flock.unsupportedCode)
          expect(error.message).toContain("no libc here")
        }
        expect(loads).toBe(1)
      })
    )

    it.scopedLive("writes fail with LockError unsupported and touch nothing; reads go on without a lock", () =>
      Effect.gen(function* () {
        const directory = yield* tempDir
        const descriptor = {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${"a".repeat(64)}`,
          size: 1
        }
        const v1 = yield* Either.match(Reference.tag("v1"), { onLeft: Effect.die, onRight: Effect.succeed })
        const v2 = yield* Either.match(Reference.tag("v2"), { onLeft: Effect.die, onRight: Effect.succeed })
        // The layout is written where flock works, then used where it does not.
        yield* Effect.flatMap(StoreIndex.make({ directory }), (store) => store.put(descriptor, [v1]))
        const indexPath = NodePath.join(directory, "index.json")
        const before = NodeFs.readFileSync(indexPath)

        const unsupported = IndexLock.make(
          internal.makeBackend({ ...internal.nodeSyscalls, flock: Flock.makeFlock(Flock.loadLibcFlock("win32")) }),
          { timeout: "5 seconds" }
        )
        const store = yield* StoreIndex.make({ directory }).pipe(
          Effect.provide(Layer.succeed(IndexLock.IndexLock, unsupported))
        )
        const error = yield* store.put(descriptor, [v2]).pipe(
          Effect.flip,
          Effect.flatMap((failure) =>
            failure instanceof LockError ? Effect.succeed(failure) : Effect.dieMessage(`not a LockError: ${failure}`)
          )
        )
        expect(error.reason).toBe("unsupported")
        expect(error.path).toBe(`${indexPath}.lock`)
        expect(error.message).toContain("flock(2) is not available")
        expect(error.message).toContain("win32")
        expect(NodeFs.readFileSync(indexPath)).toEqual(before)

        const tags = (yield* store.list).map((entry) => entry.annotations?.["org.opencontainers.image.ref.name"])
        expect(tags).toEqual(["v1"])
      }).pipe(Effect.provide(NodeServices.layer()))
    )
  })
})
