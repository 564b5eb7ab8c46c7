import { describe, expect, it } from "@effect/vitest"
import { LockError } from "@ocidx/core/Errors"
import * as IndexLock from "@ocidx/core/IndexLock"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Queue, Schedule, Scope, TestClock } from "effect"
import {
  env,
  fileBytes,
  free,
  indexJson,
  indexPath,
  isDone,
  lockPath,
  manifest,
  provideFresh,
  rawEntry,
  refNameOf,
  seedLayout,
  settle,
  tag,
  writes
} from "./support/store.js"

const seeded = indexJson([rawEntry("a", { "org.opencontainers.image.ref.name": "v1" })])

/** `adjust` the TestClock in steps until `fiber` is done (at most `limit`). */
const driveUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, step: Duration.DurationInput, limit: Duration.DurationInput) =>
  Effect.gen(function* () {
    const steps = Math.ceil(Duration.toMillis(limit) / Duration.toMillis(step))
    for (let i = 0; i < steps && !(yield* isDone(fiber)); i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

describe("IndexLock through StoreIndex (in-memory lock)", () => {
  it.effect("reads hold it shared, writes exclusive, each released after", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      yield* store.read
      yield* store.list
      yield* store.get("v1")
      yield* store.getSingle
      yield* store.put(manifest("b"), [tag("v2")])
      yield* store.remove(["v2"])
      yield* store.modify((index) => Effect.succeed([undefined, index] as const))
      const summary = lock.events().map(({ event, mode, owner, lockPath }) => `${lockPath} ${owner} ${mode} ${event}`)
      const shared = [`${lockPath} ocidx shared acquired`, `${lockPath} ocidx shared released`]
      const exclusive = [`${lockPath} ocidx exclusive acquired`, `${lockPath} ocidx exclusive released`]
      expect(summary).toEqual([...shared, ...shared, ...shared, ...shared, ...exclusive, ...exclusive, ...exclusive])
      expect(lock.holders(lockPath)).toEqual(free)
    }).pipe(provideFresh())
  )

  it.effect("is released when the operation fails", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, "{ not json")
      yield* Effect.flip(store.read)
      yield* Effect.flip(store.put(manifest("b"), [tag("v2")]))
      yield* Effect.flip(store.modify(() => Effect.fail("f failed")))
      expect(lock.holders(lockPath)).toEqual(free)
      expect(lock.events().filter((event) => event.event === "released")).toHaveLength(3)
      memory.writeText(indexPath, seeded)
      const failure = yield* Effect.flip(store.modify(() => Effect.fail("f failed" as const)))
      expect(failure).toBe("f failed")
      expect(lock.holders(lockPath)).toEqual(free)
      const defect = yield* Effect.exit(store.modify(() => Effect.die("f died")))
      expect(Exit.isFailure(defect)).toBe(true)
      expect(lock.holders(lockPath)).toEqual(free)
    }).pipe(provideFresh())
  )

  it.effect("is released when the operation is interrupted", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      const entered = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        store.modify(() => Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never))
      )
      yield* Deferred.await(entered)
      expect(lock.holders(lockPath)).toEqual({ shared: 0, exclusive: true })
      yield* Fiber.interrupt(fiber)
      expect(lock.holders(lockPath)).toEqual(free)
      expect(lock.events().at(-1)).toMatchObject({ mode: "exclusive", event: "released" })
      expect(writes(memory)).toEqual([])
    }).pipe(provideFresh())
  )

  it.effect("an external exclusive holder makes a put wait; released, the put completes", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      const before = fileBytes(memory, indexPath)
      const external = yield* Scope.make()
      expect(yield* lock.holdExternally(lockPath, "exclusive").pipe(Scope.extend(external))).toBe(true)
      const fiber = yield* Effect.fork(store.put(manifest("b"), [tag("v2")]))
      yield* TestClock.adjust("900 millis")
      expect(yield* isDone(fiber)).toBe(false)
      expect(fileBytes(memory, indexPath)).toEqual(before)
      expect(writes(memory)).toEqual([])
      yield* Scope.close(external, Exit.void)
      // The next attempt comes within the backoff cap (10 ms), well before the 1 s deadline.
      yield* TestClock.adjust("30 millis")
      expect(yield* isDone(fiber)).toBe(true)
      yield* Fiber.join(fiber)
      expect((yield* store.list).map(refNameOf)).toEqual(["v1", "v2"])
      expect(lock.events().map(({ owner, event }) => `${owner} ${event}`)).toEqual([
        "external acquired",
        "external released",
        "ocidx acquired",
        "ocidx released",
        "ocidx acquired",
        "ocidx released"
      ])
    }).pipe(provideFresh())
  )

  it.scoped("an external holder kept past the timeout: LockError timeout naming the lock file, nothing written", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      const before = memory.files()
      yield* lock.holdExternally(lockPath, "exclusive")
      const fiber = yield* Effect.fork(store.put(manifest("b"), [tag("v2")]))
      yield* TestClock.adjust("999 millis")
      expect(yield* isDone(fiber)).toBe(false)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toBeInstanceOf(LockError)
      expect(error).toMatchObject({ _tag: "LockError", reason: "timeout", path: lockPath })
      expect(error.message).toContain(lockPath)
      expect(memory.files()).toEqual(before)
      expect(writes(memory)).toEqual([])
      expect(lock.holders(lockPath)).toEqual({ shared: 0, exclusive: true })
      // Reads time out the same way.
      const reader = yield* Effect.fork(store.read)
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(reader))).toMatchObject({ _tag: "LockError", reason: "timeout" })
    }).pipe(provideFresh())
  )

  it.scoped("timeout 0 fails at once when the lock is busy, and succeeds when it is free", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      yield* store.put(manifest("b"), [tag("v2")])
      yield* lock.holdExternally(lockPath, "exclusive")
      // No clock movement: it must fail without waiting.
      const putError = yield* Effect.flip(store.put(manifest("c"), [tag("v3")]))
      expect(putError).toMatchObject({ _tag: "LockError", reason: "timeout", path: lockPath })
      const readError = yield* Effect.flip(store.read)
      expect(readError).toMatchObject({ _tag: "LockError", reason: "timeout", path: lockPath })
      expect((yield* Effect.flip(store.remove(["v1"])))._tag).toBe("LockError")
    }).pipe(provideFresh({ timeout: 0 }))
  )

  it.scoped("a shared external holder lets reads through and blocks writes", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      expect(yield* lock.holdExternally(lockPath, "shared")).toBe(true)
      expect((yield* store.list).map(refNameOf)).toEqual(["v1"])
      expect(Option.isSome(yield* store.get("v1"))).toBe(true)
      expect(lock.holders(lockPath)).toEqual({ shared: 1, exclusive: false })
      const fiber = yield* Effect.fork(store.put(manifest("b"), [tag("v2")]))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "LockError", reason: "timeout" })
      expect(writes(memory)).toEqual([])
    }).pipe(provideFresh())
  )

  it.effect("an external holder cannot take the lock while ocidx writes", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      const entered = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        store.modify((index) =>
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(proceed)),
            Effect.as([undefined, index] as const)
          )
        )
      )
      yield* Deferred.await(entered)
      expect(yield* Effect.scoped(lock.holdExternally(lockPath, "shared"))).toBe(false)
      expect(yield* Effect.scoped(lock.holdExternally(lockPath, "exclusive"))).toBe(false)
      yield* Deferred.succeed(proceed, undefined)
      yield* Fiber.join(fiber)
      expect(yield* Effect.scoped(lock.holdExternally(lockPath, "exclusive"))).toBe(true)
    }).pipe(provideFresh())
  )

  it.effect("in one process a read waits while a write holds the lock, and sees its result", () =>
    Effect.gen(function* () {
      const { store, memory } = yield* env
      seedLayout(memory, seeded)
      const entered = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const writer = yield* Effect.fork(
        store.modify((index) =>
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(proceed)),
            Effect.as([undefined, { ...index, manifests: [] }] as const)
          )
        )
      )
      yield* Deferred.await(entered)
      const reader = yield* Effect.fork(store.list)
      yield* TestClock.adjust("500 millis")
      expect(yield* isDone(reader)).toBe(false)
      yield* Deferred.succeed(proceed, undefined)
      yield* Fiber.join(writer)
      yield* TestClock.adjust("30 millis")
      expect(yield* Fiber.join(reader)).toEqual([])
    }).pipe(provideFresh())
  )

  it.effect("50 concurrent puts of distinct tags in one process all land", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, indexJson([]))
      const tags = Array.from({ length: 50 }, (_, i) => `t${i}`)
      const fiber = yield* Effect.fork(
        Effect.all(
          tags.map((value, i) => store.put(manifest(i + 1), [tag(value)])),
          { concurrency: "unbounded" }
        )
      )
      yield* driveUntilDone(fiber, "25 millis", "1 minute")
      const entries = yield* store.list
      expect(entries).toHaveLength(50)
      expect(new Set(entries.map(refNameOf))).toEqual(new Set(tags))
      // Never two writers at once: acquisitions and releases alternate.
      const exclusive = lock.events().filter((event) => event.mode === "exclusive")
      expect(exclusive).toHaveLength(100)
      exclusive.forEach((event, i) => {
        expect(event.event).toBe(i % 2 === 0 ? "acquired" : "released")
      })
    }).pipe(provideFresh({ timeout: "1 minute" }))
  )

  it.effect('failWith(lockPath, "read-only"): reads work unlocked, writes fail with LockError read-only', () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      const before = memory.files()
      lock.failWith(lockPath, "read-only")
      expect((yield* store.list).map(refNameOf)).toEqual(["v1"])
      for (const write of [
        store.put(manifest("b"), [tag("v2")]),
        store.remove(["v1"]),
        store.modify((index) => Effect.succeed([undefined, { ...index, manifests: [] }] as const))
      ]) {
        // No clock movement: a read-only layout is not retried.
        const error = yield* Effect.flip(write)
        expect(error).toMatchObject({ _tag: "LockError", reason: "read-only", path: lockPath })
      }
      expect(memory.files()).toEqual(before)
      expect(writes(memory)).toEqual([])
      lock.failWith(lockPath, undefined)
      yield* store.put(manifest("b"), [tag("v2")])
      expect(lock.holders(lockPath)).toEqual(free)
    }).pipe(provideFresh())
  )

  it.effect.each([
    { reason: "permission" as const, readable: true },
    { reason: "io" as const, readable: false },
    { reason: "not-found" as const, readable: false }
  ])("failWith(lockPath, $reason): writes fail with that reason at once", ({ reason, readable }) =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, seeded)
      lock.failWith(lockPath, reason)
      expect(yield* Effect.flip(store.put(manifest("b"), [tag("v2")]))).toMatchObject({
        _tag: "LockError",
        reason,
        path: lockPath
      })
      const read = yield* Effect.either(store.read)
      expect(read._tag).toBe(readable ? "Right" : "Left")
      if (read._tag === "Left") expect(read.left).toMatchObject({ _tag: "LockError", reason })
      expect(writes(memory)).toEqual([])
    }).pipe(provideFresh())
  )
})

/** A backend that counts attempts and releases; `busy` decides each attempt. */
const countingBackend = (busy: (mode: IndexLock.LockMode) => boolean = () => false) => {
  const counts = { attempts: 0, acquired: 0, released: 0 }
  const backend: IndexLock.LockBackend = {
    tryAcquire: (_lockPath, mode) =>
      Effect.sync(() => {
        counts.attempts++
        if (busy(mode)) return Option.none()
        counts.acquired++
        return Option.some(
          Effect.sync(() => {
            counts.released++
          })
        )
      })
  }
  return { backend, counts }
}

describe("IndexLock.make", () => {
  it("has a 30 second default timeout", () => {
    expect(Duration.toMillis(IndexLock.defaultTimeout)).toBe(30_000)
  })

  it.effect("waits 30 seconds when no timeout is provided", () =>
    Effect.gen(function* () {
      expect(Duration.toMillis(yield* IndexLock.CurrentLockTimeout)).toBe(30_000)
      const { backend } = countingBackend(() => true)
      // A slow schedule keeps the TestClock's work small; the deadline is what is under test.
      const lock = IndexLock.make(backend, { schedule: Schedule.spaced("5 seconds") })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "shared")))
      yield* TestClock.adjust("29 seconds")
      expect(yield* isDone(fiber)).toBe(false)
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "LockError", reason: "timeout" })
    })
  )

  it.effect("reads CurrentLockTimeout where each lock is acquired", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend(() => true)
      const lock = IndexLock.make(backend, { schedule: Schedule.spaced("500 millis") })
      const acquire = Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive"))
      // 0: one attempt, then the timeout, without the clock moving.
      const atOnce = yield* Effect.flip(
        acquire.pipe(Effect.provideService(IndexLock.CurrentLockTimeout, Duration.zero))
      )
      expect(atOnce).toMatchObject({ _tag: "LockError", reason: "timeout" })
      expect(counts.attempts).toBe(1)
      // The same lock, under another timeout.
      const fiber = yield* Effect.fork(
        acquire.pipe(Effect.provideService(IndexLock.CurrentLockTimeout, Duration.seconds(2)))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* isDone(fiber)).toBe(false)
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "LockError", reason: "timeout" })
    })
  )

  it.effect("a timeout given to make wins over CurrentLockTimeout", () =>
    Effect.gen(function* () {
      const { backend } = countingBackend(() => true)
      const lock = IndexLock.make(backend, { timeout: 0 })
      const error = yield* Effect.flip(
        Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")).pipe(
          Effect.provideService(IndexLock.CurrentLockTimeout, Duration.infinity)
        )
      )
      expect(error).toMatchObject({ _tag: "LockError", reason: "timeout" })
    })
  )

  it.effect("serialises exclusive holders of one path in-process even when the backend never excludes", () =>
    Effect.gen(function* () {
      // fcntl-emulated flock (NFS) does not exclude within one process.
      const { backend, counts } = countingBackend()
      const lock = IndexLock.make(backend, { timeout: "1 second" })
      const first = yield* Scope.make()
      yield* lock.acquire("/x/index.json.lock", "exclusive").pipe(Scope.extend(first))
      const second = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      const shared = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "shared")))
      // Another path is independent.
      yield* Effect.scoped(lock.acquire("/y/index.json.lock", "exclusive"))
      yield* TestClock.adjust("500 millis")
      expect(yield* isDone(second)).toBe(false)
      expect(yield* isDone(shared)).toBe(false)
      expect(counts.acquired).toBe(2)
      yield* Scope.close(first, Exit.void)
      yield* TestClock.adjust("30 millis")
      yield* Fiber.join(second)
      yield* Fiber.join(shared)
      expect(counts.released).toBe(counts.acquired)
    })
  )

  it.effect("lets shared holders of one path in together", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend()
      const lock = IndexLock.make(backend, { timeout: 0 })
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* lock.acquire("/x/index.json.lock", "shared")
          yield* lock.acquire("/x/index.json.lock", "shared")
          const exclusive = yield* Effect.flip(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
          expect(exclusive).toMatchObject({ _tag: "LockError", reason: "timeout", path: "/x/index.json.lock" })
        })
      )
      expect(counts).toEqual({ attempts: 2, acquired: 2, released: 2 })
      yield* Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive"))
    })
  )

  it.effect("releases exactly once when the scope closes, on success and on failure", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend()
      const lock = IndexLock.make(backend)
      yield* Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive"))
      expect(counts.released).toBe(1)
      yield* Effect.flip(
        Effect.scoped(Effect.zipRight(lock.acquire("/x/index.json.lock", "exclusive"), Effect.fail("x")))
      )
      expect(counts.released).toBe(2)
      expect(counts.acquired).toBe(2)
    })
  )

  it.effect("retries a busy backend on a backoff capped at 10 ms until the deadline, then fails naming the path", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend(() => true)
      const lock = IndexLock.make(backend, { timeout: "1 second" })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "shared")))
      yield* TestClock.adjust("500 millis")
      const halfway = counts.attempts
      // At most 10 ms between attempts: at least 50 in 500 ms.
      expect(halfway).toBeGreaterThanOrEqual(50)
      yield* TestClock.adjust("499 millis")
      expect(yield* isDone(fiber)).toBe(false)
      expect(counts.attempts).toBeGreaterThan(halfway)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "LockError", reason: "timeout", path: "/x/index.json.lock" })
      // Nothing is left held in-process: the path is free for the next caller.
      const attempts = counts.attempts
      yield* TestClock.adjust("1 second")
      expect(counts.attempts).toBe(attempts)
    })
  )

  it.effect("after a timeout the in-process table is clean", () =>
    Effect.gen(function* () {
      let busy = true
      const { backend } = countingBackend(() => busy)
      const lock = IndexLock.make(backend, { timeout: "100 millis" })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* TestClock.adjust("100 millis")
      yield* Effect.flip(Fiber.join(fiber))
      busy = false
      // Would wait (and time out) if the timed-out attempt had left the path marked as held.
      const again = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* settle(() => false, 20)
      expect(yield* isDone(again)).toBe(true)
      yield* Fiber.join(again)
    })
  )

  it.effect("timeout 0 makes exactly one attempt", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend(() => true)
      const lock = IndexLock.make(backend, { timeout: 0 })
      const error = yield* Effect.flip(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      expect(error).toMatchObject({ _tag: "LockError", reason: "timeout", path: "/x/index.json.lock" })
      expect(counts.attempts).toBe(1)
    })
  )

  it.effect("a LockError from the backend is not retried, and frees the in-process slot", () =>
    Effect.gen(function* () {
      let attempts = 0
      let failing = true
      const backend: IndexLock.LockBackend = {
        tryAcquire: (lockPath) =>
          Effect.suspend(() => {
            attempts++
            return failing
              ? Effect.fail(new LockError({ path: lockPath, reason: "io", cause: new Error("EIO") }))
              : Effect.succeed(Option.some(Effect.void))
          })
      }
      const lock = IndexLock.make(backend, { timeout: "1 second" })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* settle(() => attempts > 0)
      yield* settle(() => false, 20)
      // Done without the clock moving, so no retry was scheduled.
      expect(yield* isDone(fiber)).toBe(true)
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "LockError", reason: "io" })
      expect(attempts).toBe(1)
      failing = false
      yield* Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive"))
    })
  )

  it.effect("a waiting acquire can be interrupted and leaves nothing held", () =>
    Effect.gen(function* () {
      let busy = true
      const { backend, counts } = countingBackend(() => busy)
      const lock = IndexLock.make(backend, { timeout: Duration.infinity })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* TestClock.adjust("200 millis")
      expect(yield* isDone(fiber)).toBe(false)
      yield* Fiber.interrupt(fiber)
      busy = false
      const attempts = counts.attempts
      const again = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* settle(() => false, 20)
      // Taken at the first attempt, without the clock moving.
      expect(yield* isDone(again)).toBe(true)
      yield* Fiber.join(again)
      expect(counts.attempts).toBe(attempts + 1)
    })
  )

  it.effect("waits on the backend waiter's untilFree instead of the schedule, and closes the waiter after", () =>
    Effect.gen(function* () {
      let busy = true
      let attempts = 0
      let opened = 0
      let closed = 0
      const chances = yield* Queue.unbounded<void>()
      const tryAcquire = Effect.sync(() => {
        attempts++
        return busy ? Option.none() : Option.some(Effect.void)
      })
      const backend: IndexLock.LockBackend = {
        tryAcquire: () => tryAcquire,
        waiter: () =>
          Effect.acquireRelease(
            Effect.sync(() => {
              opened++
              return { tryAcquire, untilFree: Queue.take(chances) }
            }),
            () =>
              Effect.sync(() => {
                closed++
              })
          )
      }
      const lock = IndexLock.make(backend, { timeout: "1 second" })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* TestClock.adjust("500 millis")
      // The first attempt only: no schedule, each next attempt waits for the backend's sign.
      expect(attempts).toBe(1)
      expect(opened).toBe(1)
      yield* Queue.offer(chances, undefined)
      yield* settle(() => attempts === 2)
      expect(attempts).toBe(2)
      busy = false
      yield* Queue.offer(chances, undefined)
      yield* Fiber.join(fiber)
      expect(attempts).toBe(3)
      expect(closed).toBe(1)
    })
  )

  it.effect("a wait on untilFree ends at the deadline with the waiter closed", () =>
    Effect.gen(function* () {
      let closed = 0
      const backend: IndexLock.LockBackend = {
        tryAcquire: () => Effect.succeed(Option.none()),
        waiter: () =>
          Effect.acquireRelease(
            Effect.succeed({ tryAcquire: Effect.succeed(Option.none()), untilFree: Effect.never }),
            () =>
              Effect.sync(() => {
                closed++
              })
          )
      }
      const lock = IndexLock.make(backend, { timeout: "1 second" })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "shared")))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "LockError", reason: "timeout" })
      expect(closed).toBe(1)
    })
  )

  it.effect("uses the schedule it is given", () =>
    Effect.gen(function* () {
      const { backend, counts } = countingBackend(() => true)
      const lock = IndexLock.make(backend, { timeout: "1 second", schedule: Schedule.spaced("100 millis") })
      const fiber = yield* Effect.fork(Effect.scoped(lock.acquire("/x/index.json.lock", "exclusive")))
      yield* TestClock.adjust("950 millis")
      // The first attempt, then one every 100 ms.
      expect(counts.attempts).toBe(10)
      yield* TestClock.adjust("50 millis")
      expect((yield* Effect.flip(Fiber.join(fiber)))._tag).toBe("LockError")
    })
  )
})
