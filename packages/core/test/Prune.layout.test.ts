import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import type * as Layout from "@ocidx/core/Layout"
import type * as testing from "@ocidx/core/testing"
import { type CacheDirectory, cacheDirectory, type Export } from "@ocidx/testkit/BuildkitCache"
import { Effect, Exit } from "effect"
import { blobPath, directory, env, indexPath, provideFresh, snapshot } from "./support/layouts.js"

const hour = 3_600_000

/** Writes the cache directory at /l; entry i's root blob (and every blob) aged `ages[i]` hours. */
const seed = (memory: testing.MemoryFileSystem, cache: CacheDirectory, hoursAgo: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (const [path, bytes] of cache.files) memory.writeText(`${directory}/${path}`, bytes)
    const now = Date.now()
    // Every blob old enough for gc; each root's mtime is its entry's age.
    for (const path of Object.keys(memory.files())) {
      if (path.startsWith(`${directory}/blobs/`))
        yield* fs.utimes(path, new Date(now - 48 * hour), new Date(now - 48 * hour)).pipe(Effect.orDie)
    }
    for (const [i, entry] of cache.entries.entries()) {
      const when = new Date(now - (hoursAgo[i] ?? 0) * hour)
      yield* fs.utimes(blobPath(entry.digest), when, when).pipe(Effect.orDie)
    }
  })

/** Four exports, the first two in the older index form; every export shares the base layer. */
const exports: ReadonlyArray<Export> = [
  { form: "index", layers: ["base", "main 1"], tag: "main" },
  { form: "index", layers: ["base", "pr-1 1", "pr-1 2"], tag: "pr-1" },
  { form: "manifest", layers: ["base", "pr-2 1"], tag: "pr-2" },
  { form: "manifest", layers: ["base", "pr-3 1"], tag: "pr-3" }
]
const ages = [10, 5, 3, 1]

const tagsOf = (descriptors: ReadonlyArray<{ readonly annotations?: Record<string, string> | undefined }>) =>
  descriptors.map((descriptor) => descriptor.annotations?.[Annotations.refName])

const ingestFiles = (memory: testing.MemoryFileSystem, cache: CacheDirectory) =>
  Object.fromEntries(cache.ingest.map((path) => [path, memory.readText(`${directory}/${path}`)]))

/** The blobs only the given exports reach, by the fixture's own account. */
const onlyThese = (cache: CacheDirectory, gone: ReadonlyArray<number>) => {
  const keptBlobs = new Set(cache.blobs.flatMap((blobs, i) => (gone.includes(i) ? [] : [...blobs.keys()])))
  const freed = new Map<string, number>()
  for (const i of gone)
    for (const [digest, size] of cache.blobs[i] ?? []) if (!keptBlobs.has(digest)) freed.set(digest, size)
  return freed
}

const errorCodes = (report: Layout.VerifyReport) =>
  report.findings.filter((finding) => finding.severity !== "info").map((finding) => finding.code)

describe("BuildKit cache directories", () => {
  it.effect("verify, ls, sizes and gc read both forms; the older form's children are leaf blobs", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const { layout, memory } = yield* env
      yield* seed(memory, cache, ages)
      const verify = yield* layout.verify()
      expect(verify.ok).toBe(true)
      expect(errorCodes(verify)).toEqual([])
      expect(tagsOf(yield* layout.index.list)).toEqual(["main", "pr-1", "pr-2", "pr-3"])
      const reachable = yield* layout.reachable
      expect(reachable.size).toBe(new Set(cache.blobs.flatMap((blobs) => [...blobs.keys()])).size)
      const gc = yield* layout.gc({ grace: 0 })
      expect(gc.removed).toEqual([])
      const sizes = yield* layout.sizes
      sizes.forEach((size, i) => {
        const blobs = cache.blobs[i] ?? new Map()
        expect(size.total).toBe([...blobs.values()].reduce((sum, n) => sum + n, 0))
        expect(size.unique).toBe([...onlyThese(cache, [i]).values()].reduce((sum, n) => sum + n, 0))
      })
      // The base layer is shared by all four: no entry's unique size includes it.
      expect(sizes.every((size) => size.unique < size.total)).toBe(true)
    }).pipe(provideFresh)
  )

  it.effect("prune --keep main --keep-last 1 removes pr-1 and pr-2, frees only their blobs, leaves ingest/", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const { layout, memory } = yield* env
      yield* seed(memory, cache, ages)
      const ingestBefore = ingestFiles(memory, cache)
      const report = yield* layout.prune({ keep: ["main"], keepLast: 1, grace: 0 })
      expect(report.dryRun).toBe(false)
      expect(tagsOf(report.removed)).toEqual(["pr-1", "pr-2"])
      const freed = onlyThese(cache, [1, 2])
      expect(report.blobs.map((blob) => blob.digest).sort()).toEqual([...freed.keys()].sort())
      expect(report.bytes).toBe([...freed.values()].reduce((sum, n) => sum + n, 0))
      expect(tagsOf(yield* layout.index.list)).toEqual(["main", "pr-3"])
      // Nothing more for gc, verify clean, ingest/ as it was.
      expect((yield* layout.gc({ grace: 0 })).removed).toEqual([])
      const verify = yield* layout.verify()
      expect(verify.ok).toBe(true)
      expect(errorCodes(verify)).toEqual([])
      expect(ingestFiles(memory, cache)).toEqual(ingestBefore)
    }).pipe(provideFresh)
  )

  it.effect("--max-size removes oldest first until the rest fits; --keep holds even over the ceiling", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const union = (indexes: ReadonlyArray<number>) => {
        const blobs = new Map(indexes.flatMap((i) => [...(cache.blobs[i] ?? new Map<string, number>())]))
        return [...blobs.values()].reduce((sum, n) => sum + n, 0)
      }
      const { layout, memory } = yield* env
      yield* seed(memory, cache, ages)
      // Room for main and pr-3 (the base layer counted once): pr-1 and pr-2, the oldest, go.
      const dry = yield* layout.prune({ keep: ["main"], maxSize: union([0, 3]), dryRun: true })
      expect(tagsOf(dry.removed)).toEqual(["pr-1", "pr-2"])
      // One byte less and pr-3 goes too; main, kept, stays though it alone is over.
      const report = yield* layout.prune({ keep: ["main"], maxSize: union([0, 3]) - 1, grace: 0 })
      expect(tagsOf(report.removed)).toEqual(["pr-1", "pr-2", "pr-3"])
      expect(tagsOf(yield* layout.index.list)).toEqual(["main"])
      expect(report.bytes).toBe(union([0, 1, 2, 3]) - union([0]))
    }).pipe(provideFresh)
  )

  it.effect("--older-than removes the entries whose manifest blob is older", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const { layout, memory } = yield* env
      yield* seed(memory, cache, ages)
      const report = yield* layout.prune({ olderThan: "4 hours", grace: 0 })
      expect(tagsOf(report.removed)).toEqual(["main", "pr-1"])
      expect(tagsOf(yield* layout.index.list)).toEqual(["pr-2", "pr-3"])
    }).pipe(provideFresh)
  )

  it.effect("--dry-run changes no byte and reports what the real run then does", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const { layout, memory, lock } = yield* env
      yield* seed(memory, cache, ages)
      const before = snapshot(memory)
      const dry = yield* layout.prune({ keep: ["main"], keepLast: 1, grace: 0, dryRun: true })
      expect(snapshot(memory)).toEqual(before)
      expect(lock.events().some((event) => event.mode === "exclusive")).toBe(false)
      expect(lock.events().some((event) => event.mode === "shared" && event.event === "acquired")).toBe(true)
      expect(dry.dryRun).toBe(true)
      const real = yield* layout.prune({ keep: ["main"], keepLast: 1, grace: 0 })
      expect(real.removed).toEqual(dry.removed)
      expect(real.blobs.map((blob) => blob.digest).sort()).toEqual(dry.blobs.map((blob) => blob.digest).sort())
      expect(real.bytes).toBe(dry.bytes)
    }).pipe(provideFresh)
  )

  it.effect("blobs younger than the grace period stay after their entry goes, for a later gc", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory(exports)
      const { layout, memory } = yield* env
      for (const [path, bytes] of cache.files) memory.writeText(`${directory}/${path}`, bytes)
      const report = yield* layout.prune({ keepLast: 1 })
      expect(tagsOf(report.removed)).toEqual(["main", "pr-1", "pr-2"])
      expect(report.blobs).toEqual([])
      expect(report.bytes).toBe(0)
      const freed = onlyThese(cache, [0, 1, 2])
      for (const digest of freed.keys()) expect(memory.readText(blobPath(digest))).toBeDefined()
      const later = yield* layout.gc({ grace: 0 })
      expect(later.removed.map((blob) => blob.digest).sort()).toEqual([...freed.keys()].sort())
    }).pipe(provideFresh)
  )

  it.effect("the older form with Docker media types (oci-mediatypes=false) is read, sized and pruned alike", () =>
    Effect.gen(function* () {
      const cache = cacheDirectory([
        { form: "index", docker: true, layers: ["base", "old 1"], tag: "old" },
        { form: "index", docker: true, layers: ["base", "new 1"], tag: "latest" }
      ])
      const { layout, memory } = yield* env
      yield* seed(memory, cache, [5, 1])
      const ingestBefore = ingestFiles(memory, cache)
      expect(errorCodes(yield* layout.verify({ strict: true }))).toEqual([])
      const sizes = yield* layout.sizes
      expect(sizes.map((size) => size.unique)).toEqual([
        [...onlyThese(cache, [0]).values()].reduce((sum, n) => sum + n, 0),
        [...onlyThese(cache, [1]).values()].reduce((sum, n) => sum + n, 0)
      ])
      const report = yield* layout.prune({ keepLast: 1, grace: 0 })
      expect(tagsOf(report.removed)).toEqual(["old"])
      expect(report.blobs.map((blob) => blob.digest).sort()).toEqual([...onlyThese(cache, [0]).keys()].sort())
      expect((yield* layout.gc({ grace: 0 })).removed).toEqual([])
      expect(errorCodes(yield* layout.verify({ strict: true }))).toEqual([])
      expect(ingestFiles(memory, cache)).toEqual(ingestBefore)
    }).pipe(provideFresh)
  )

  it.effect(
    "a missing index.json fails with ReadError not-found, an unreadable manifest with UnreadableManifest, a blank index.json with DecodeError blank; force goes on as gc's does",
    () =>
      Effect.gen(function* () {
        const cache = cacheDirectory(exports)
        const { layout, memory } = yield* env
        const fs = yield* FileSystem.FileSystem
        for (const [path, bytes] of cache.files)
          if (path !== "index.json") memory.writeText(`${directory}/${path}`, bytes)
        const missing = yield* Effect.exit(layout.prune({ keepLast: 0 }))
        expect(missing).toEqual(
          Exit.fail(expect.objectContaining({ _tag: "ReadError", reason: "not-found", path: indexPath }))
        )
        memory.writeText(indexPath, cache.files.get("index.json") ?? "")
        const root = cache.entries[2]?.digest ?? ""
        yield* fs.remove(blobPath(root)).pipe(Effect.orDie)
        const before = snapshot(memory)
        const unreadable = yield* Effect.exit(layout.prune({ keepLast: 0, grace: 0 }))
        expect(unreadable).toEqual(
          Exit.fail(expect.objectContaining({ _tag: "UnreadableManifest", digest: root, operation: "prune" }))
        )
        const refused = yield* Effect.flip(layout.prune({ keepLast: 0, grace: 0, dryRun: true }))
        expect(refused.message).toMatch(/; prune removed nothing\. Restore the blob, or force the prune\.$/)
        // ls --sizes reads the same graph: its error says the sizes cannot be counted, and nothing about deleting.
        const sizes = yield* Effect.flip(layout.sizes)
        expect(sizes).toMatchObject({ _tag: "UnreadableManifest", digest: root, operation: "sizes" })
        expect(sizes.message).toMatch(/cannot be read \(.*\); the sizes cannot be counted\. Restore the blob\.$/)
        expect(sizes.message).not.toMatch(/delet|remov|force/)
        expect(snapshot(memory)).toEqual(before)
        // With force, as gc --force: the entry is judged by what could be read, and everything goes here.
        const forced = yield* layout.prune({ keepLast: 0, grace: 0, force: true })
        expect(tagsOf(forced.removed)).toEqual(["main", "pr-1", "pr-2", "pr-3"])
        expect(Object.keys(memory.files()).filter((path) => path.startsWith(`${directory}/blobs/`))).toEqual([])
        // A blank index.json is refused as gc refuses it, and forced it is an empty index.
        memory.writeText(indexPath, "  \n")
        const blank = yield* Effect.exit(layout.prune({ keepLast: 0 }))
        expect(blank).toEqual(Exit.fail(expect.objectContaining({ _tag: "DecodeError", reason: "blank" })))
        expect((yield* layout.prune({ keepLast: 0, force: true })).removed).toEqual([])
      }).pipe(provideFresh)
  )
})
