/**
 * The one graph walk's limits: a claimed cycle among nested indexes, and nesting deeper than
 * `Errors.maxGraphDepth`, as resolve, reachable, verify and gc see them.
 */
import { describe, expect, it } from "@effect/vitest"
import { maxGraphDepth } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, Option } from "effect"
import {
  codes,
  type Desc,
  env,
  LayoutBuilder,
  linuxAmd64,
  provideFresh,
  snapshot,
  writeLayout
} from "./support/layouts.js"

const amd64 = { platform: { os: "linux", architecture: "amd64" } } as const

/**
 * A digest no content hashes to, so its blob can say what a test wants. sha1 is an algorithm ocidx cannot
 * compute, so reads do not catch the lie (as they do for sha256): only the walk's own check stands.
 */
const fakeDigest = (c: string, algorithm: "sha1" | "sha256" = "sha1") =>
  `${algorithm}:${c.repeat(algorithm === "sha1" ? 40 : 64)}`

const errors = (report: Parameters<typeof codes>[0]) => codes(report).filter((code) => code.startsWith("error:"))

const indexText = (child: string, size: number) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociIndex, digest: child, size, platform: linuxAmd64 }]
  })

/**
 * Nested indexes whose blobs name each other in a ring: `digests[i]` lists `digests[i + 1]`, the last lists
 * the first. Each blob is stored under a digest its content does not hash to, as only a corrupt layout can.
 */
const ring = (builder: LayoutBuilder, digests: ReadonlyArray<string>): Desc => {
  // Sizes are found by iterating to the fixed point (the text's length includes its child's size).
  let sizes = digests.map(() => 100)
  for (let round = 0; round < 4; round++) {
    sizes = digests.map(
      (_, i) => indexText(digests[(i + 1) % digests.length] ?? "", sizes[(i + 1) % digests.length] ?? 0).length
    )
  }
  digests.forEach((digest, i) => {
    const next = (i + 1) % digests.length
    builder.blobs.set(digest, new TextEncoder().encode(indexText(digests[next] ?? "", sizes[next] ?? 0)))
  })
  return { mediaType: MediaType.ociIndex, digest: digests[0] ?? "", size: sizes[0] ?? 0 }
}

/** A manifest for linux/amd64 `level` levels below index.json: the entry, and `level - 1` indexes nested. */
const chain = (builder: LayoutBuilder, level: number) => {
  const image = builder.image({ layers: [`deep ${level}`], platform: linuxAmd64 })
  let top: Desc = image.manifest
  for (let i = 1; i < level; i++) top = builder.index([{ ...top, ...amd64 }])
  builder.add(top, ["deep"])
  return { image, top }
}

describe("Layout graph limits", () => {
  describe("a claimed cycle", () => {
    it.effect("A lists B lists A: resolve fails naming the cycle; reachable is whole; verify reports index-cycle", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const [a, b] = [fakeDigest("a"), fakeDigest("b")]
        builder.add(ring(builder, [a, b]), ["loop"])
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        const before = snapshot(memory)
        const error = yield* layout.resolve("loop", amd64).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "GraphError", reason: "cycle", digests: [a, b, a] })
        expect(error.message).toContain(`index.json → ${a} → ${b} → ${a}`)
        expect([...(yield* layout.reachable).keys()].sort()).toEqual([a, b])
        const report = yield* layout.verify()
        expect(report.ok).toBe(false)
        expect(codes(report)).toContain("error:index-cycle")
        const finding = report.findings.find((f) => f.code === "index-cycle")
        expect(finding?.message).toContain(`${a} → ${b} → ${a}`)
        // Reachability is exact despite the cycle, so gc sweeps (and keeps both).
        const gc = yield* layout.gc()
        expect(gc.removed).toEqual([])
        expect(snapshot(memory)).toEqual(before)
      }).pipe(provideFresh)
    )

    it.effect("an index that lists itself", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const a = fakeDigest("c")
        builder.add(ring(builder, [a]), ["self"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        const error = yield* layout.resolve("self", amd64).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "GraphError", reason: "cycle", digests: [a, a] })
        const report = yield* layout.verify()
        expect(report.findings.filter((f) => f.code === "index-cycle")).toHaveLength(1)
      }).pipe(provideFresh)
    )

    it.effect("with sha256 digests, reading catches the lie first: resolve and verify report the mismatch", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const [a, b] = [fakeDigest("a", "sha256"), fakeDigest("b", "sha256")]
        builder.add(ring(builder, [a, b]), ["loop"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        const error = yield* layout.resolve("loop", amd64).pipe(Effect.flip)
        expect(error._tag).toBe("DigestMismatch")
        const report = yield* layout.verify()
        // The first blob's content is not what its name says, so the walk does not follow it: no cycle to see.
        expect(errors(report)).toEqual(["error:blob-digest-mismatch"])
      }).pipe(provideFresh)
    )

    it.effect("a cycle below a valid index is found too, with the path from the entry", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const [a, b] = [fakeDigest("d"), fakeDigest("e")]
        const loop = ring(builder, [a, b])
        const outer = builder.index([{ ...loop, ...amd64 }])
        builder.add(outer, ["outer"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        const error = yield* layout.resolve("outer", amd64).pipe(Effect.flip)
        expect(error).toMatchObject({ reason: "cycle", digests: [outer.digest, a, b, a] })
        const report = yield* layout.verify()
        expect(report.findings.find((f) => f.code === "index-cycle")?.message).toContain(
          `index.json → ${outer.digest} → ${a} → ${b} → ${a}`
        )
      }).pipe(provideFresh)
    )
  })

  describe(`nesting deeper than ${maxGraphDepth} levels`, () => {
    it.effect(`a manifest at level ${maxGraphDepth} resolves, and verify is ok`, () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const { image } = chain(builder, maxGraphDepth)
        yield* writeLayout(builder)
        const { layout } = yield* env
        const found = yield* layout.resolve("deep", amd64)
        expect(Option.map(found, (d) => d.digest)).toEqual(Option.some(image.manifest.digest))
        expect([...(yield* layout.reachable).keys()]).toContain(image.config.digest)
        const report = yield* layout.verify()
        expect(report.findings).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect(`one level more: resolve, reachable and gc fail with too-deep; verify reports index-too-deep`, () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const { image } = chain(builder, maxGraphDepth + 1)
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        const before = snapshot(memory)
        const error = yield* layout.resolve("deep", amd64).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "GraphError", reason: "too-deep" })
        if (error._tag === "GraphError") {
          expect(error.digests).toHaveLength(maxGraphDepth + 1)
          expect(error.digests.at(-1)).toBe(image.manifest.digest)
        }
        expect(yield* layout.reachable.pipe(Effect.flip)).toMatchObject({ _tag: "GraphError", reason: "too-deep" })
        const report = yield* layout.verify()
        expect(errors(report)).toEqual(["error:index-too-deep"])
        // The manifest's config and layer lie below the limit: unknown, so neither unreferenced nor swept.
        expect(yield* layout.gc().pipe(Effect.flip)).toMatchObject({ _tag: "GraphError", reason: "too-deep" })
        expect(snapshot(memory)).toEqual(before)
      }).pipe(provideFresh)
    )

    it.effect("a chain of 5,000 nested indexes: a clear error after reading at most the limit", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        chain(builder, 5000)
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        const reads = () => memory.calls().filter((call) => call.op === "readFile" || call.op === "open-read").length
        const start = reads()
        const error = yield* layout.resolve("deep", amd64).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "GraphError", reason: "too-deep" })
        expect(error.message).toContain(`more than ${maxGraphDepth} levels`)
        // index.json and 64 nested indexes, each at most a few file operations: nowhere near 5,000.
        expect(reads() - start).toBeLessThan(maxGraphDepth * 4)
        expect(errors(yield* layout.verify())).toEqual(["error:index-too-deep"])
        // With force, gc goes on (what lies below the limit is unknown to it, as for an unreadable manifest).
        expect((yield* layout.gc({ force: true, dryRun: true })).dryRun).toBe(true)
      }).pipe(provideFresh)
    )
  })
})
