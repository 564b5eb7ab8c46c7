/**
 * buildkit rewrites index.json in place. A reader holding a lock file that buildkit has just unlinked can see
 * that write half done; the store reads again before calling the file corrupt.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Reference from "@ocidx/core/Reference"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as testing from "@ocidx/core/testing"
import { Effect, Either, Fiber } from "effect"

const directory = "/layout"
const indexPath = `${directory}/index.json`
const digest = `sha256:${"a".repeat(64)}`
const whole = `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${digest}","size":7}]}`
// What an in-place rewrite leaves for an instant: the new text's start over the old text's end.
const torn = `${whole.slice(0, 40)}"}]}`

const readsOfIndex = (memory: testing.MemoryFileSystem) =>
  memory.calls().filter((call) => call.op === "readFile" && call.path === indexPath).length

describe("StoreIndex torn reads", () => {
  it.live("a half-written index.json that becomes whole while the store waits is read, not reported", () =>
    Effect.gen(function* () {
      const memory = yield* testing.MemoryFileSystem
      memory.writeText(indexPath, torn)
      const store = yield* StoreIndex.make({ directory })
      // The other writer finishes as soon as the store has seen the torn text once.
      const writer = yield* Effect.fork(
        Effect.gen(function* () {
          while (readsOfIndex(memory) === 0) yield* Effect.yieldNow()
          memory.writeText(indexPath, whole)
        })
      )
      const added = yield* store.put({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 7 }, [
        Either.getOrThrow(Reference.tag("v1"))
      ])
      yield* Fiber.join(writer)
      expect(added).toHaveLength(1)
      expect(readsOfIndex(memory)).toBeGreaterThanOrEqual(2)
      expect((yield* store.list).length).toBe(2)
    }).pipe(Effect.provide(testing.layer()))
  )

  it.live("a file that stays corrupt is a DecodeError after five reads, and is not touched", () =>
    Effect.gen(function* () {
      const memory = yield* testing.MemoryFileSystem
      memory.writeText(indexPath, torn)
      const store = yield* StoreIndex.make({ directory })
      const error = yield* Effect.flip(store.remove(["v1"]))
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "json", path: indexPath })
      expect(readsOfIndex(memory)).toBe(5)
      expect(memory.readText(indexPath)).toBe(torn)
    }).pipe(Effect.provide(testing.layer()))
  )

  it.live("a schema error is not retried: it cannot come from a write in progress", () =>
    Effect.gen(function* () {
      const memory = yield* testing.MemoryFileSystem
      memory.writeText(indexPath, `{"schemaVersion":1,"manifests":[]}`)
      const store = yield* StoreIndex.make({ directory })
      const error = yield* Effect.flip(store.read)
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "schema" })
      expect(readsOfIndex(memory)).toBe(1)
    }).pipe(Effect.provide(testing.layer()))
  )

  // buildkit writes oci-layout in place on every put, too.
  const layoutPath = `${directory}/oci-layout`
  const layoutWhole = `{"imageLayoutVersion":"1.0.0"}`
  const readsOfLayout = (memory: testing.MemoryFileSystem) =>
    memory.calls().filter((call) => call.op === "readFile" && call.path === layoutPath).length

  it.live("a half-written oci-layout that becomes whole while the store waits is read, and the put goes on", () =>
    Effect.gen(function* () {
      const memory = yield* testing.MemoryFileSystem
      memory.writeText(indexPath, whole)
      memory.writeText(layoutPath, layoutWhole.slice(0, 12))
      const store = yield* StoreIndex.make({ directory })
      const writer = yield* Effect.fork(
        Effect.gen(function* () {
          while (readsOfLayout(memory) === 0) yield* Effect.yieldNow()
          memory.writeText(layoutPath, layoutWhole)
        })
      )
      const added = yield* store.put({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 7 }, [
        Either.getOrThrow(Reference.tag("v1"))
      ])
      yield* Fiber.join(writer)
      expect(added).toHaveLength(1)
      expect(readsOfLayout(memory)).toBeGreaterThanOrEqual(2)
      expect(memory.readText(layoutPath)).toBe(layoutWhole)
    }).pipe(Effect.provide(testing.layer()))
  )

  it.live("an oci-layout that stays torn is a DecodeError after five reads, and nothing is written", () =>
    Effect.gen(function* () {
      const memory = yield* testing.MemoryFileSystem
      memory.writeText(indexPath, whole)
      memory.writeText(layoutPath, layoutWhole.slice(0, 12))
      const before = memory.files()
      const store = yield* StoreIndex.make({ directory })
      const error = yield* Effect.flip(store.remove(["v1"]))
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "json", path: layoutPath })
      expect(readsOfLayout(memory)).toBe(5)
      expect(memory.files()).toEqual(before)
    }).pipe(Effect.provide(testing.layer()))
  )
})
