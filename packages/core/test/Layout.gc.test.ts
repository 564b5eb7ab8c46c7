import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Fiber, TestClock } from "effect"
import {
  arbPlan,
  blobPath,
  blobsDir,
  buildPlan,
  directory,
  env,
  indexPath,
  layoutPath,
  lockPath,
  multiArch,
  provideFresh,
  snapshot,
  writeLayout
} from "./support/layouts.js"

const tempName = `${blobsDir}/.blob.k3j4h5.ocidx-tmp`

/** multiArch plus two garbage blobs (one sha512) and the things gc must keep. */
const withGarbage = () => {
  const fixture = multiArch()
  const garbage = [
    fixture.builder.layer("an old layer nobody uses"),
    fixture.builder.blob("application/octet-stream", "sha512 garbage", { algorithm: "sha512" })
  ]
  return { ...fixture, garbage }
}

const keepers = (memory: { readonly writeText: (path: string, content: string) => void }) => {
  memory.writeText(`${blobsDir}/sha256/not-a-digest`, "not a blob")
  memory.writeText(`${blobsDir}/README`, "a file directly in blobs/")
  memory.writeText(`${directory}/notes.txt`, "outside blobs/")
  memory.writeText("/elsewhere/file", "outside the layout")
}

const removedDigests = (report: { readonly removed: ReadonlyArray<{ readonly digest: string }> }) =>
  report.removed.map((entry) => entry.digest).sort()

describe("Layout.gc", () => {
  it.effect("removes exactly the unreferenced blobs, reports them with sizes, and verify stays ok", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      keepers(memory)
      const report = yield* layout.gc({ grace: 0 })
      expect(report.dryRun).toBe(false)
      expect(removedDigests(report)).toEqual(fixture.garbage.map((blob) => blob.digest).sort())
      for (const entry of report.removed) {
        const blob = fixture.garbage.find((g) => g.digest === entry.digest)
        expect(entry.size).toBe(blob?.size)
        expect(entry.path).toBe(blobPath(entry.digest))
      }
      expect(report.bytes).toBe(fixture.garbage.reduce((sum, blob) => sum + blob.size, 0))
      const files = memory.files()
      for (const blob of fixture.garbage) expect(files[blobPath(blob.digest)]).toBeUndefined()
      for (const digest of fixture.builder.blobs.keys()) {
        if (!fixture.garbage.some((g) => g.digest === digest)) expect(files[blobPath(digest)]).toBeDefined()
      }
      for (const kept of [
        `${blobsDir}/sha256/not-a-digest`,
        `${blobsDir}/README`,
        `${directory}/notes.txt`,
        "/elsewhere/file"
      ]) {
        expect(files[kept]).toBeDefined()
      }
      const verify = yield* layout.verify()
      expect(verify.ok).toBe(true)
      expect(verify.findings.filter((finding) => finding.code !== "stray-file")).toEqual([])
    }).pipe(provideFresh)
  )

  it.effect("keeps young temp files and removes old ones", () =>
    Effect.gen(function* () {
      const { builder } = multiArch()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      memory.writeText(tempName, "a write in progress")
      const young = yield* layout.gc()
      expect(young.removed).toEqual([])
      expect(memory.files()[tempName]).toBeDefined()
      const old = yield* layout.gc({ grace: 0 })
      expect(old.removed).toEqual([{ digest: ".blob.k3j4h5.ocidx-tmp", size: 19, path: tempName }])
      expect(memory.files()[tempName]).toBeUndefined()
    }).pipe(provideFresh)
  )

  it.effect("dry-run removes nothing but reports the same list, with sizes", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      memory.writeText(tempName, "stale")
      const before = snapshot(memory)
      const dry = yield* layout.gc({ dryRun: true, grace: 0 })
      expect(dry.dryRun).toBe(true)
      expect(snapshot(memory)).toEqual(before)
      expect(memory.calls().filter((call) => call.op === "remove")).toEqual([])
      const real = yield* layout.gc({ grace: 0 })
      expect(real.removed).toEqual(dry.removed)
      expect(real.bytes).toBe(dry.bytes)
      expect(dry.removed.map((entry) => entry.size).sort()).toEqual(
        [...fixture.garbage.map((blob) => blob.size), 5].sort()
      )
    }).pipe(provideFresh)
  )

  it.effect("holds the exclusive lock while it marks and removes", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, lock } = yield* env
      const heldWhileRemoving: Array<boolean> = []
      yield* layout.gc({
        grace: 0,
        onProgress: () => Effect.sync(() => heldWhileRemoving.push(lock.holders(lockPath).exclusive))
      })
      // Progress moves per batch of removals: every report saw the lock held.
      expect(heldWhileRemoving.length).toBeGreaterThan(0)
      expect(heldWhileRemoving.every((held) => held)).toBe(true)
      expect(lock.events().map((event) => `${event.event}:${event.mode}:${event.lockPath}`)).toEqual([
        `acquired:exclusive:${lockPath}`,
        `released:exclusive:${lockPath}`
      ])
      expect(lock.holders(lockPath)).toEqual({ shared: 0, exclusive: false })
    }).pipe(provideFresh)
  )

  it.effect("waits for a lock held elsewhere and fails with LockError timeout, deleting nothing", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, lock, memory } = yield* env
      const before = snapshot(memory)
      const error = yield* Effect.scoped(
        Effect.gen(function* () {
          expect(yield* lock.holdExternally(lockPath, "shared")).toBe(true)
          const fiber = yield* Effect.fork(layout.gc().pipe(Effect.flip))
          yield* TestClock.adjust("2 seconds")
          return yield* Fiber.join(fiber)
        })
      )
      expect(error).toMatchObject({ _tag: "LockError", reason: "timeout" })
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  for (const damage of ["missing", "corrupt", "invalid"] as const) {
    it.effect(`a ${damage} reachable manifest: UnreadableManifest and nothing deleted; with force it goes on`, () =>
      Effect.gen(function* () {
        const fixture = withGarbage()
        yield* writeLayout(fixture.builder)
        const { layout, memory } = yield* env
        const fs = yield* FileSystem.FileSystem
        const target = blobPath(fixture.arm64.manifest.digest)
        let unreadable = fixture.arm64.manifest.digest
        if (damage === "missing") yield* fs.remove(target)
        if (damage === "corrupt") memory.writeText(target, `${memory.readText(target)} `)
        if (damage === "invalid") {
          // Valid content for its digest that is not a manifest: repoint the nested index at it.
          const bogus = fixture.builder.blob("application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2}`)
          memory.writeText(blobPath(bogus.digest), `{"schemaVersion":2}`)
          unreadable = bogus.digest
          const indexFile = blobPath(fixture.index.digest)
          const nested = fixture.builder.index([bogus])
          memory.writeText(blobPath(nested.digest), fixture.builder.blobs.get(nested.digest) ?? new Uint8Array())
          memory.writeText(
            indexPath,
            (memory.readText(indexPath) ?? "")
              .replace(fixture.index.digest, nested.digest)
              .replace(`"size":${fixture.index.size}`, `"size":${nested.size}`)
          )
          expect(memory.files()[indexFile]).toBeDefined()
        }
        const before = snapshot(memory)
        const error = yield* layout.gc().pipe(Effect.flip)
        expect(error._tag).toBe("UnreadableManifest")
        if (error._tag === "UnreadableManifest") {
          expect(error.digest).toBe(unreadable)
          expect(error.operation).toBe("gc")
          expect(error.message).toContain("gc deleted nothing")
          // Library terms: the CLI adds its own flag (--force) where it prints the error.
          expect(error.message).toContain("Restore the blob, or force the collection.")
          expect(error.message).not.toContain("--")
        }
        expect(snapshot(memory)).toEqual(before)

        const forced = yield* layout.gc({ force: true, grace: 0 })
        const removed = removedDigests(forced)
        for (const blob of fixture.garbage) expect(removed).toContain(blob.digest)
        // The unreadable manifest itself stays: it is reachable.
        if (damage !== "missing") expect(removed).not.toContain(unreadable)
        const files = memory.files()
        for (const digest of [fixture.single.manifest.digest, fixture.single.config.digest, fixture.signature.digest]) {
          expect(files[blobPath(digest)]).toBeDefined()
        }
      }).pipe(provideFresh)
    )
  }

  it.effect("a missing index.json: ReadError not-found and nothing deleted", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(indexPath)
      const before = snapshot(memory)
      const error = yield* layout.gc().pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "ReadError", reason: "not-found", path: indexPath })
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  it.effect("an invalid index.json: DecodeError and nothing deleted", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      memory.writeText(indexPath, `{"schemaVersion":3,"manifests":[]}`)
      const before = snapshot(memory)
      const error = yield* layout.gc().pipe(Effect.flip)
      expect(error._tag).toBe("DecodeError")
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  it.effect("never touches anything outside blobs/ and writes nothing but removals", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      keepers(memory)
      memory.writeText(tempName, "stale")
      const outside = Object.entries(snapshot(memory)).filter(([path]) => !path.startsWith(`${blobsDir}/`))
      const calls = memory.calls().length
      yield* layout.gc({ grace: 0 })
      const mutating = memory
        .calls()
        .slice(calls)
        .filter((call) => !["readFile", "stat", "readDirectory", "open-read"].includes(call.op))
      expect(mutating.length).toBe(3)
      expect(mutating.every((call) => call.op === "remove" && call.path.startsWith(`${blobsDir}/`))).toBe(true)
      expect(Object.entries(snapshot(memory)).filter(([path]) => !path.startsWith(`${blobsDir}/`))).toEqual(outside)
      expect(memory.readText(layoutPath)).toBeDefined()
    }).pipe(provideFresh)
  )

  it.effect("a failing removal is WriteError; blobs removed before it stay removed, the rest stay", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      memory.inject("remove", "EACCES", { nth: 2 })
      const error = yield* layout.gc({ grace: 0 }).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "WriteError", reason: "permission" })
      const verify = yield* layout.verify()
      expect(verify.ok).toBe(true)
      expect(verify.findings.filter((finding) => finding.code === "blob-missing")).toEqual([])
    }).pipe(provideFresh)
  )

  it.effect.prop(
    "gc never deletes a reachable blob: random layouts with random garbage",
    [arbPlan, FastCheck.array(FastCheck.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 5 })],
    ([plan, garbageContents]) =>
      Effect.gen(function* () {
        const builder = buildPlan(plan)
        const reachable = [...builder.blobs.keys()]
        const garbage = new Set(
          garbageContents
            .map((bytes) => builder.blob("application/octet-stream", Uint8Array.from([0xfe, ...bytes])).digest)
            .filter((digest) => !reachable.includes(digest))
        )
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        const report = yield* layout.gc({ grace: 0 })
        expect(removedDigests(report)).toEqual([...garbage].sort())
        const files = memory.files()
        for (const digest of reachable) expect(files[blobPath(digest)]).toBeDefined()
        const verify = yield* layout.verify()
        expect(verify.ok).toBe(true)
        expect(verify.findings).toEqual([])
        const again = yield* layout.gc({ grace: 0 })
        expect(again.removed).toEqual([])
      }).pipe(provideFresh),
    { fastCheck: { numRuns: 30 } }
  )
})

/** Sets a file's mtime `millis` before now, as a file a crashed writer left that long ago. */
const age = (file: string, millis: number) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.utimes(file, new Date(), new Date(Date.now() - millis)))

const hour = 60 * 60 * 1000
const rootTemp = `${directory}/.index.json.k3j4h5lqz0.ocidx-tmp`

describe("Layout.gc grace period", () => {
  it.effect("spares unreferenced blobs younger than the grace period (default one hour), by mtime", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      const [old, young] = fixture.garbage
      if (old === undefined || young === undefined) return expect.unreachable()
      yield* age(blobPath(old.digest), 2 * hour)
      yield* age(blobPath(young.digest), 10 * 60 * 1000)
      const byDefault = yield* layout.gc()
      expect(removedDigests(byDefault)).toEqual([old.digest])
      expect(memory.files()[blobPath(young.digest)]).toBeDefined()
      const shorter = yield* layout.gc({ grace: "5 minutes" })
      expect(removedDigests(shorter)).toEqual([young.digest])
      expect(memory.files()[blobPath(young.digest)]).toBeUndefined()
    }).pipe(provideFresh)
  )

  it.effect("collects a killed writer's index.json temp file once old, and nothing else in the root", () =>
    Effect.gen(function* () {
      yield* writeLayout(multiArch().builder)
      const { layout, memory } = yield* env
      memory.writeText(rootTemp, `{"schemaVersion":2,"manif`)
      const lookalikes = [
        `${directory}/.index.json.backup`,
        `${directory}/.index.json.K3J4.ocidx-tmp`,
        `${directory}/.index.json..ocidx-tmp`,
        `${directory}/.notes.k3j4.ocidx-tmp`,
        `${directory}/sub/.index.json.k3j4.ocidx-tmp`
      ]
      for (const file of lookalikes) memory.writeText(file, "not ours")
      for (const file of lookalikes) yield* age(file, 2 * hour)
      expect((yield* layout.gc()).removed).toEqual([])
      expect((yield* layout.verify()).findings).toContainEqual(
        expect.objectContaining({ code: "temp-file", path: rootTemp })
      )
      yield* age(rootTemp, 2 * hour)
      const report = yield* layout.gc()
      expect(report.removed).toEqual([{ digest: ".index.json.k3j4h5lqz0.ocidx-tmp", size: 25, path: rootTemp }])
      const files = memory.files()
      expect(files[rootTemp]).toBeUndefined()
      for (const file of lookalikes) expect(files[file]).toBeDefined()
      expect((yield* layout.verify()).findings.filter((finding) => finding.code === "temp-file")).toEqual([])
    }).pipe(provideFresh)
  )

  it.effect("a dry run takes only the shared lock and lists what a real run then removes", () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, lock, memory } = yield* env
      memory.writeText(rootTemp, "partial")
      memory.writeText(tempName, "partial")
      for (const file of [rootTemp, tempName, ...fixture.garbage.map((blob) => blobPath(blob.digest))]) {
        yield* age(file, 2 * hour)
      }
      const before = snapshot(memory)
      const events = lock.events().length
      const dry = yield* layout.gc({ dryRun: true })
      expect(snapshot(memory)).toEqual(before)
      expect(
        lock
          .events()
          .slice(events)
          .map((event) => `${event.event}:${event.mode}`)
      ).toEqual(["acquired:shared", "released:shared"])
      expect(dry.removed).toHaveLength(4)
      const real = yield* layout.gc()
      expect(real.removed).toEqual(dry.removed)
    }).pipe(provideFresh)
  )

  for (const [label, text] of [
    ["0 bytes", ""],
    ["whitespace only", " \n\t\n"]
  ] as const) {
    it.effect(`refuses to sweep by a blank index.json (${label}) unless forced`, () =>
      Effect.gen(function* () {
        const fixture = withGarbage()
        yield* writeLayout(fixture.builder)
        const { layout, memory } = yield* env
        memory.writeText(indexPath, text)
        const before = snapshot(memory)
        for (const dryRun of [false, true]) {
          const error = yield* layout.gc({ dryRun, grace: 0 }).pipe(Effect.flip)
          expect(error).toMatchObject({ _tag: "DecodeError", reason: "blank", path: indexPath })
        }
        expect(snapshot(memory)).toEqual(before)
        const forced = yield* layout.gc({ force: true, grace: 0 })
        expect(forced.removed).toHaveLength(fixture.builder.blobs.size)
        expect(memory.readText(indexPath)).toBe(text)
      }).pipe(provideFresh)
    )
  }

  it.effect("a dry run refuses an oci-layout version ocidx does not write, as a real run does", () =>
    Effect.gen(function* () {
      yield* writeLayout(withGarbage().builder)
      const { layout, memory } = yield* env
      memory.writeText(layoutPath, `{"imageLayoutVersion":"2.0.0"}`)
      const before = snapshot(memory)
      for (const dryRun of [true, false]) {
        const error = yield* layout.gc({ dryRun, grace: 0 }).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "DecodeError", reason: "unsupported-version" })
      }
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  it.effect(`"manifests": null is a real empty index: gc sweeps by it`, () =>
    Effect.gen(function* () {
      const fixture = withGarbage()
      yield* writeLayout(fixture.builder)
      const { layout, memory } = yield* env
      memory.writeText(indexPath, `{"schemaVersion":2,"manifests":null}`)
      const report = yield* layout.gc({ grace: 0 })
      expect(report.removed).toHaveLength(fixture.builder.blobs.size)
    }).pipe(provideFresh)
  )
})
