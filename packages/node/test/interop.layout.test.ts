/**
 * ocidx against layouts the real tools write and read: umoci makes and edits them, skopeo copies and
 * inspects them. ocidx must list every tag, verify them clean, collect only garbage, and leave layouts both
 * tools still read. Everything runs on the real disk, in temp directories removed afterwards.
 */
import { createHash, randomBytes } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"
import { NodeFileSystem, NodePath as PlatformNodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import type { Descriptor } from "@ocidx/core/Descriptor"
import * as Hasher from "@ocidx/core/Hasher"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import * as Reference from "@ocidx/core/Reference"
import { Effect, Either, Layer, Option, Stream } from "effect"
import * as NodeHasher from "../src/NodeHasher.js"
import * as NodeIndexLock from "../src/NodeIndexLock.js"
import { tempDir } from "@ocidx/testkit/TempDir"
import { hasTools, skopeo, umoci } from "@ocidx/testkit/Tools"

const live = Layer.mergeAll(NodeFileSystem.layer, PlatformNodePath.layer, NodeHasher.layer, NodeIndexLock.layer)

const encoder = new TextEncoder()

const tag = (value: string): Reference.NameOrTag =>
  Either.getOrThrowWith(Reference.tag(value), (error) => new Error(error.message))

const tagsOf = (entries: ReadonlyArray<Descriptor>) => entries.map((entry) => entry.annotations?.[Annotations.refName])

const entryFor = (layout: Layout.Layout, name: string) =>
  layout.index
    .get(name)
    .pipe(Effect.flatMap(Option.match({ onNone: () => Effect.dieMessage(`no entry ${name}`), onSome: Effect.succeed })))

/** Every file under blobs/<alg>/, as digests. */
const blobDigests = (directory: string) =>
  Effect.promise(async () => {
    const out: Array<string> = []
    const blobs = NodePath.join(directory, "blobs")
    for (const algorithm of await NodeFs.readdir(blobs)) {
      const stat = await NodeFs.stat(NodePath.join(blobs, algorithm))
      if (!stat.isDirectory()) continue
      for (const name of await NodeFs.readdir(NodePath.join(blobs, algorithm))) out.push(`${algorithm}:${name}`)
    }
    return out.sort()
  })

const writeFile = (file: string, content: string | Uint8Array) => Effect.promise(() => NodeFs.writeFile(file, content))

/** An image made by umoci: `base` (one layer), `v2` (the same manifest), `arm` (its arm64 variant). */
const umociLayout = (dir: string) =>
  Effect.gen(function* () {
    const layoutDir = NodePath.join(dir, "umoci")
    const file = NodePath.join(dir, "hello.txt")
    yield* writeFile(file, "hello from the interop test\n")
    yield* umoci.init(layoutDir)
    yield* umoci.new(layoutDir, "base")
    yield* umoci.insert(layoutDir, "base", file, "/hello.txt")
    yield* umoci.tag(layoutDir, "base", "v2")
    yield* umoci.setArchitecture(layoutDir, "base", "arm64", "arm")
    return layoutDir
  })

/** skopeo reads the tag, and the manifest it reads is the blob the entry points at; then copies it out. */
const checkWithSkopeo = (layout: Layout.Layout, dir: string, name: string) =>
  Effect.gen(function* () {
    const entry = yield* entryFor(layout, name)
    const raw = yield* skopeo.inspectRaw(`oci:${layout.directory}:${name}`)
    const blob = yield* layout.blobs.get(entry.digest)
    expect(JSON.parse(raw)).toEqual(JSON.parse(new TextDecoder().decode(blob)))
    const out = NodePath.join(dir, `copy-${NodePath.basename(layout.directory)}-${name}`)
    yield* skopeo.copy(`oci:${layout.directory}:${name}`, `dir:${out}`)
    const copied = yield* Effect.promise(() => NodeFs.readdir(out))
    expect(copied).toContain("manifest.json")
  })

describe("interop: layouts written and read by umoci and skopeo", () => {
  it.scopedLive.skipIf(!hasTools)(
    "umoci layout: ocidx lists every tag, verifies it, adds a multi-arch index, collects only garbage; umoci and skopeo still read it (needs /usr/bin/umoci and /usr/bin/skopeo)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const directory = yield* umociLayout(dir)
        const layout = yield* Layout.make({ directory })

        expect(tagsOf(yield* layout.index.list)).toEqual(["base", "v2", "arm"])
        const first = yield* layout.verify()
        expect(first.ok).toBe(true)
        // umoci keeps the manifests and configs it replaced: unreferenced, which is only information.
        expect(first.findings.filter((finding) => finding.code !== "blob-unreferenced")).toEqual([])
        expect(first.findings.length).toBeGreaterThan(0)

        // A multi-arch image over umoci's two manifests, written by ocidx.
        const base = yield* entryFor(layout, "base")
        const arm = yield* entryFor(layout, "arm")
        const nested = JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [
            {
              mediaType: base.mediaType,
              digest: base.digest,
              size: base.size,
              platform: { architecture: "amd64", os: "linux" }
            },
            {
              mediaType: arm.mediaType,
              digest: arm.digest,
              size: arm.size,
              platform: { architecture: "arm64", os: "linux" }
            }
          ]
        })
        const index = yield* layout.blobs.put(encoder.encode(nested))
        yield* layout.index.put({ mediaType: MediaType.ociIndex, digest: index.digest, size: index.size }, [
          tag("multi")
        ])
        expect(tagsOf(yield* layout.index.list)).toEqual(["base", "v2", "arm", "multi"])
        const forArm = yield* layout.resolve("multi", { platform: { os: "linux", architecture: "arm64" } })
        expect(Option.map(forArm, (d) => d.digest)).toEqual(Option.some(arm.digest))
        const forAmd = yield* layout.resolve("multi", { platform: { os: "linux", architecture: "amd64" } })
        expect(Option.map(forAmd, (d) => d.digest)).toEqual(Option.some(base.digest))
        expect(yield* umoci.list(directory)).toEqual(["base", "v2", "arm", "multi"])

        // Garbage, and umoci untagging: v2 (base is still tagged) and arm (still in the multi-arch index).
        const garbage = [
          yield* layout.blobs.put(randomBytes(1000)),
          yield* layout.blobs.put(Stream.make(randomBytes(10), randomBytes(20)), { algorithm: "sha512" })
        ]
        yield* umoci.remove(directory, "v2")
        yield* umoci.remove(directory, "arm")
        expect(tagsOf(yield* layout.index.list)).toEqual(["base", "multi"])

        const reachable = new Set<string>((yield* layout.reachable).keys())
        expect(reachable.has(arm.digest)).toBe(true)
        const unreferenced = (yield* blobDigests(directory)).filter((digest) => !reachable.has(digest))
        for (const blob of garbage) expect(unreferenced).toContain(blob.digest)

        const dry = yield* layout.gc({ dryRun: true, grace: 0 })
        expect(yield* blobDigests(directory)).toContain(garbage[0]?.digest)
        const report = yield* layout.gc({ grace: 0 })
        expect(report.removed.map((entry) => entry.digest).sort()).toEqual(unreferenced)
        expect(report.removed).toEqual(dry.removed)
        expect(yield* blobDigests(directory)).toEqual([...reachable].sort())

        const after = yield* layout.verify()
        expect(after).toMatchObject({ ok: true, findings: [] })
        expect(after.blobsChecked).toBe(reachable.size)

        expect(yield* umoci.list(directory)).toEqual(["base", "multi"])
        for (const name of ["base", "multi"]) yield* checkWithSkopeo(layout, dir, name)
      }).pipe(Effect.provide(live))
  )

  it.scopedLive.skipIf(!hasTools)(
    "skopeo layout: clean to verify, tags added by ocidx are read by skopeo, gc removes only garbage (needs umoci and skopeo)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const source = yield* umociLayout(dir)
        const directory = NodePath.join(dir, "skopeo")
        yield* skopeo.copy(`oci:${source}:base`, `oci:${directory}:x`)
        const layout = yield* Layout.make({ directory })

        expect(tagsOf(yield* layout.index.list)).toEqual(["x"])
        expect(yield* layout.verify()).toMatchObject({ ok: true, findings: [] })

        const entry = yield* entryFor(layout, "x")
        yield* layout.index.put(entry, [tag("y"), Either.getOrThrow(Reference.name("registry.example/team/app:1.0"))])
        expect(tagsOf(yield* layout.index.list)).toEqual(["x", "y", "1.0"])
        const nothing = yield* layout.gc()
        expect(nothing.removed).toEqual([])

        const garbage = yield* layout.blobs.put(encoder.encode("nobody references this"))
        yield* writeFile(NodePath.join(directory, "blobs", "sha256", "not-a-digest"), "kept")
        const report = yield* layout.gc({ grace: 0 })
        expect(report.removed).toEqual([
          { digest: garbage.digest, size: garbage.size, path: layout.blobs.pathOf(garbage.digest) }
        ])
        const after = yield* layout.verify()
        expect(after.ok).toBe(true)
        expect(after.findings.map((finding) => finding.code)).toEqual(["stray-file"])

        for (const name of ["x", "y", "1.0"]) yield* checkWithSkopeo(layout, dir, name)
        // skopeo writes into a layout ocidx has written, and ocidx reads what it wrote.
        yield* skopeo.copy(`oci:${directory}:y`, `oci:${directory}:z`)
        expect(tagsOf(yield* layout.index.list)).toEqual(["x", "y", "1.0", "z"])
        expect((yield* layout.verify()).ok).toBe(true)
      }).pipe(Effect.provide(live))
  )

  it.scopedLive.skipIf(!hasTools)(
    "real-disk corruption: a flipped byte, a symlinked blob and a corrupt manifest are found; gc refuses and deletes nothing (needs umoci and skopeo)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const source = yield* umociLayout(dir)
        const directory = NodePath.join(dir, "corrupt")
        yield* skopeo.copy(`oci:${source}:base`, `oci:${directory}:x`)
        const layout = yield* Layout.make({ directory })
        const entry = yield* entryFor(layout, "x")
        const content = yield* layout.content(entry)
        if (content._tag !== "Manifest") return yield* Effect.dieMessage("expected a manifest")
        const layer = content.manifest.layers[0]
        if (layer === undefined) return yield* Effect.dieMessage("expected a layer")
        const layerFile = layout.blobs.pathOf(layer.digest)
        const original = yield* Effect.promise(() => NodeFs.readFile(layerFile))

        const flipped = Buffer.from(original)
        flipped[10] = (flipped[10] ?? 0) ^ 0xff
        yield* writeFile(layerFile, flipped)
        const flippedReport = yield* layout.verify()
        expect(flippedReport.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(["error:blob-digest-mismatch"])

        const outside = NodePath.join(dir, "outside-layer")
        yield* writeFile(outside, original)
        yield* Effect.promise(() => NodeFs.rm(layerFile))
        yield* Effect.promise(() => NodeFs.symlink(outside, layerFile))
        expect((yield* layout.verify()).findings.map((f) => `${f.severity}:${f.code}`)).toEqual(["error:blob-symlink"])
        const refused = yield* layout.blobs.get(layer.digest).pipe(Effect.flip)
        expect(refused).toMatchObject({ _tag: "ReadError", reason: "symlink" })

        yield* Effect.promise(() => NodeFs.rm(layerFile))
        yield* writeFile(layerFile, original)
        yield* writeFile(NodePath.join(directory, "blobs", ".blob.x1.ocidx-tmp"), "half")
        const tidy = yield* layout.verify()
        expect(tidy.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(["info:temp-file"])

        const manifestFile = layout.blobs.pathOf(entry.digest)
        yield* writeFile(
          manifestFile,
          `${(yield* Effect.promise(() => NodeFs.readFile(manifestFile, "utf8"))).trim()} `
        )
        const garbage = yield* layout.blobs.put(encoder.encode("garbage"))
        const before = yield* blobDigests(directory)
        const error = yield* layout.gc().pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "UnreadableManifest", digest: entry.digest })
        expect(yield* blobDigests(directory)).toEqual(before)
        expect(before).toContain(garbage.digest)
      }).pipe(Effect.provide(live))
  )
})

describe("NodeHasher", () => {
  const chunks = [randomBytes(1), randomBytes(70_000), new Uint8Array(0), randomBytes(300)]
  const all = Buffer.concat(chunks)

  for (const algorithm of ["sha256", "sha512"] as const) {
    it.effect(`gives the ${algorithm} digest WebCrypto and node:crypto give, fed in chunks`, () =>
      Effect.gen(function* () {
        const hash = NodeHasher.hasher.make(algorithm)
        for (const chunk of chunks) hash.update(chunk)
        const hex = yield* hash.digest
        expect(hex).toBe(createHash(algorithm).update(all).digest("hex"))
        const web = Hasher.webCrypto.make(algorithm)
        web.update(all)
        expect(hex).toBe(yield* web.digest)
        // Asking again gives the same answer rather than throwing.
        expect(yield* hash.digest).toBe(hex)
      })
    )
  }

  it.scopedLive("a 64 MiB stream is put and verified on disk without holding it in memory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const layout = yield* Layout.make({ directory: dir })
      yield* layout.init
      const chunk = randomBytes(1024 * 1024)
      const count = 64
      const expected = createHash("sha256")
      for (let i = 0; i < count; i++) expected.update(chunk)
      const digest = `sha256:${expected.digest("hex")}`
      const before = process.memoryUsage()
      const info = yield* layout.blobs.put(Stream.repeatValue(chunk).pipe(Stream.take(count)))
      const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers
      expect(info).toEqual({ digest, size: count * chunk.length })
      // The whole blob would be 64 MiB; streaming keeps a few chunks at most.
      expect(grown).toBeLessThan(32 * 1024 * 1024)
      const streamed = yield* layout.blobs
        .stream(info.digest, { size: info.size })
        .pipe(Stream.runFold(0, (size, piece) => size + piece.length))
      expect(streamed).toBe(count * chunk.length)
      const report = yield* layout.verify()
      expect(report).toMatchObject({ ok: true, blobsChecked: 0 })
      expect(report.findings.map((f) => f.code)).toEqual(["blob-unreferenced"])
    }).pipe(Effect.provide(live))
  )
})
