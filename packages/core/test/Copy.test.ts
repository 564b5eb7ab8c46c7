/**
 * The copy engine between layouts, in memory: what arrives (byte for byte, or narrowed to platforms), what
 * is skipped, and that nothing is tagged unless everything arrived.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it, vi } from "@effect/vitest"
import * as Archive from "@ocidx/core/Archive"
import * as Copy from "@ocidx/core/Copy"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import { RegistryClient } from "@ocidx/core/RegistryClient"
import * as testing from "@ocidx/core/testing"
import { noise } from "@ocidx/testkit/Bytes"
import { Effect, Either, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { packTar, unpackTar } from "modern-tar"
import {
  blobPath,
  digestOf,
  LayoutBuilder,
  linuxAmd64,
  linuxArm64,
  multiArch,
  provideFresh,
  snapshot,
  writeLayout
} from "./support/layouts.js"

const src = "/src"
const dst = "/dst"

/** Layout copies never touch a registry. */
const unused = (name: string) => () => Effect.dieMessage(`a layout copy called the registry's ${name}`)
const noRegistry = Layer.succeed(RegistryClient, {
  ping: unused("ping"),
  getManifest: unused("getManifest"),
  headManifest: unused("headManifest"),
  putManifest: unused("putManifest"),
  headBlob: unused("headBlob"),
  getBlob: () => Stream.dieMessage("a layout copy called the registry's getBlob"),
  uploadBlob: unused("uploadBlob"),
  listTags: unused("listTags"),
  referrers: unused("referrers")
})

const run = <A, E, R>(self: Effect.Effect<A, E, R>) => provideFresh(Effect.provide(self, noRegistry))

const layoutAt = (directory: string, reference?: string): Copy.Location => ({ _tag: "Layout", directory, reference })

/** `/src`: one image, its one layer "good layer", tagged v1; the in-memory file system, the layer's and the manifest's digests. */
const oneLayerAtSrc = Effect.gen(function* () {
  const builder = new LayoutBuilder()
  const image = builder.image({ layers: ["good layer"] })
  builder.add(image.manifest, ["v1"])
  yield* writeLayout(builder, src)
  return {
    memory: yield* testing.MemoryFileSystem,
    layer: image.layers[0]?.digest ?? "",
    manifest: image.manifest.digest
  }
})

const entries = (directory: string) => Effect.flatMap(Layout.make({ directory }), (layout) => layout.index.list)

const digests = (descriptors: ReadonlyArray<{ readonly digest: string }>) => descriptors.map((d) => d.digest).sort()

describe("Copy.parseLocation", () => {
  it("reads oci: (split at the first colon, as skopeo) and docker://", () => {
    expect(Copy.parseLocation("oci:/a/b")).toEqual(
      Either.right({ _tag: "Layout", directory: "/a/b", reference: undefined })
    )
    expect(Copy.parseLocation("oci:./out:v1")).toEqual(
      Either.right({ _tag: "Layout", directory: "./out", reference: "v1" })
    )
    expect(Copy.parseLocation("oci:out:docker.io/library/alpine:3.20")).toEqual(
      Either.right({ _tag: "Layout", directory: "out", reference: "docker.io/library/alpine:3.20" })
    )
    expect(Copy.parseLocation("oci:out:")).toEqual(
      Either.right({ _tag: "Layout", directory: "out", reference: undefined })
    )
    const registry = Copy.parseLocation("docker://localhost:5000/a/b:v1")
    expect(registry).toEqual(
      Either.right({
        _tag: "Registry",
        reference: { registry: "localhost:5000", repository: "a/b", tag: "v1", digest: undefined }
      })
    )
    expect(Either.map(registry, Copy.formatLocation)).toEqual(Either.right("docker://localhost:5000/a/b:v1"))
    expect(Either.map(Copy.parseLocation("oci:x:v1"), Copy.formatLocation)).toEqual(Either.right("oci:x:v1"))
  })

  it("refuses unknown transports, an empty directory and a bad reference", () => {
    const problem = (text: string) =>
      Either.match(Copy.parseLocation(text), {
        onLeft: (error) => `${error._tag}: ${error.problem}`,
        onRight: () => "ok"
      })
    expect(problem("/plain/dir")).toMatch(/^InvalidReference: expected a transport/)
    expect(problem("docker:alpine")).toMatch(/^InvalidReference: expected a transport/)
    expect(problem("oci-archive:x.tar")).toBe("ok")
    expect(Copy.parseLocation("docker-archive:x.tar:registry.example:5000/app:v1")).toEqual(
      Either.right({ _tag: "Archive", format: "docker", file: "x.tar", reference: "registry.example:5000/app:v1" })
    )
    expect(problem("oci:")).toBe("InvalidReference: the layout directory is missing")
    expect(problem("docker://Upper/Case")).toMatch(/^InvalidReference: the repository name must be lowercase/)
  })
})

describe("Copy.copy between layouts", () => {
  it.effect("copies a whole index byte for byte, children before the tag, and a rerun skips everything", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, src)
        const memory = yield* testing.MemoryFileSystem
        const result = yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "copied"))
        expect(result.manifest).toMatchObject({ digest: image.index.digest, size: image.index.size })
        // Every blob under the index: 5 manifests, 5 configs, 6 layers, and the index itself.
        const expected = [
          image.index,
          ...[image.amd64, image.amd64Again, image.arm64, image.arm64v8, image.armv7].flatMap((i) => [
            i.manifest,
            i.config,
            ...i.layers
          ])
        ]
        expect(digests(result.copied)).toEqual(digests(expected))
        expect(result.skipped).toEqual([])
        expect(result.bytes).toBe(expected.reduce((sum, d) => sum + d.size, 0))
        for (const descriptor of expected) {
          expect(memory.readText(blobPath(descriptor.digest, dst))).toBe(
            memory.readText(blobPath(descriptor.digest, src))
          )
        }
        // Not the single image, nor the signature: only what the entry reaches.
        expect(memory.readText(blobPath(image.single.manifest.digest, dst))).toBeUndefined()
        const tagged = yield* entries(dst)
        expect(tagged).toEqual([
          {
            mediaType: MediaType.ociIndex,
            digest: image.index.digest,
            size: image.index.size,
            annotations: { "org.opencontainers.image.ref.name": "copied" }
          }
        ])

        const again = yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "copied"))
        expect(again.copied).toEqual([])
        expect(again.bytes).toBe(0)
        expect(digests(again.skipped)).toEqual(digests(expected))
        expect(yield* entries(dst)).toEqual(tagged)
      })
    )
  )

  it.effect("without names: the source's only entry, under the names it had there; a new layout is created", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["only"] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, src)
        const result = yield* Copy.copy(layoutAt(src), layoutAt("/new/layout"))
        expect(result.manifest.digest).toBe(image.manifest.digest)
        expect(yield* entries("/new/layout")).toEqual([
          { ...image.manifest, annotations: { "org.opencontainers.image.ref.name": "v1" } }
        ])
        const report = yield* Effect.flatMap(Layout.make({ directory: "/new/layout" }), (layout) => layout.verify())
        expect(report.ok).toBe(true)
      })
    )
  )

  it.effect("skips the blobs the destination has, and reports them", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const base = builder.image({ layers: ["shared base"] })
        const app = builder.image({ layers: ["shared base", "app layer"], seed: "app" })
        builder.add(base.manifest, ["base"]).add(app.manifest, ["app"])
        yield* writeLayout(builder, src)
        yield* Copy.copy(layoutAt(src, "base"), layoutAt(dst, "base"))
        const events: Array<string> = []
        const result = yield* Copy.copy(layoutAt(src, "app"), layoutAt(dst, "app"), {
          onProgress: (event) =>
            Effect.sync(() => {
              if (event._tag === "Finished") events.push(`${event.descriptor.digest} ${event.outcome}`)
            })
        })
        const shared = app.layers[0]?.digest ?? ""
        expect(digests(result.skipped)).toEqual([shared])
        expect(digests(result.copied)).toEqual(digests([app.manifest, app.config, app.layers[1] ?? app.config]))
        expect(events.sort()).toEqual(
          [`${shared} skipped`, `${app.config.digest} copied`, `${app.layers[1]?.digest} copied`].sort()
        )
      })
    )
  )

  it.effect("one platform: that manifest alone, tagged as the result", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, src)
        const memory = yield* testing.MemoryFileSystem
        const result = yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "arm"), {
          platforms: [{ os: "linux", architecture: "arm", variant: "v7" }]
        })
        expect(result.manifest).toEqual(image.armv7.manifest)
        expect(digests(result.copied)).toEqual(
          digests([image.armv7.manifest, image.armv7.config, ...image.armv7.layers])
        )
        expect(memory.readText(blobPath(image.index.digest, dst))).toBeUndefined()
        expect(yield* entries(dst)).toEqual([
          { ...image.armv7.manifest, annotations: { "org.opencontainers.image.ref.name": "arm" } }
        ])
      })
    )
  )

  it.effect("several platforms: a new index naming only the manifests copied, other fields kept", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const amd64 = builder.image({ layers: ["amd64"], platform: linuxAmd64, seed: "amd64" })
        const arm64 = builder.image({ layers: ["arm64"], platform: linuxArm64, seed: "arm64" })
        const s390x = builder.image({ layers: ["s390x"], platform: { os: "linux", architecture: "s390x" } })
        const index = builder.index([amd64.manifest, arm64.manifest, s390x.manifest], {
          edit: (json) => json.replace('"manifests"', '"annotations":{"org.example":"kept"},"manifests"')
        })
        builder.add(index, ["multi"])
        yield* writeLayout(builder, src)
        const memory = yield* testing.MemoryFileSystem
        const result = yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "two"), {
          platforms: [
            { os: "linux", architecture: "arm64" },
            { os: "linux", architecture: "amd64" }
          ]
        })
        expect(result.manifest.digest).not.toBe(index.digest)
        const written = memory.readText(blobPath(result.manifest.digest, dst)) ?? ""
        expect(digestOf(written)).toBe(result.manifest.digest)
        expect(JSON.parse(written)).toEqual({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          annotations: { "org.example": "kept" },
          // In the original order, whatever order the platforms were asked in.
          manifests: [amd64.manifest, arm64.manifest]
        })
        expect(result.manifest).toEqual({
          mediaType: MediaType.ociIndex,
          digest: result.manifest.digest,
          size: written.length
        })
        expect(memory.readText(blobPath(s390x.manifest.digest, dst))).toBeUndefined()
        expect(memory.readText(blobPath(index.digest, dst))).toBeUndefined()
        expect(digests(result.copied)).toEqual(
          digests([
            result.manifest,
            amd64.manifest,
            amd64.config,
            ...amd64.layers,
            arm64.manifest,
            arm64.config,
            ...arm64.layers
          ])
        )
        const report = yield* Effect.flatMap(Layout.make({ directory: dst }), (layout) =>
          layout.verify({ strict: true })
        )
        expect(report.ok).toBe(true)
      })
    )
  )

  it.effect("a platform the index does not have: ImageNotFound, and nothing written", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, src)
        const memory = yield* testing.MemoryFileSystem
        const error = yield* Effect.flip(
          Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "x"), {
            platforms: [linuxAmd64, { os: "windows", architecture: "amd64" }]
          })
        )
        expect(error._tag).toBe("ImageNotFound")
        expect(error._tag === "ImageNotFound" && error.reason).toBe("no-platform")
        expect(error.message).toContain("no manifest for windows/amd64")
        expect(snapshot(memory, dst)).toEqual({})
      })
    )
  )

  it.effect("one image and --platform: copied when its config says that platform, else ImageNotFound", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["arm64 only"], platform: linuxArm64 })
        // The index entry states no platform: the config is what says it.
        builder.add({ ...image.manifest, platform: undefined }, ["v1"])
        yield* writeLayout(builder, src)
        const memory = yield* testing.MemoryFileSystem
        const refused = yield* Effect.flip(
          Copy.copy(layoutAt(src, "v1"), layoutAt(dst, "v1"), { platforms: [linuxAmd64] })
        )
        expect(refused._tag === "ImageNotFound" && refused.reason).toBe("no-platform")
        expect(refused.message).toBe(
          `oci:${src}: the image ${image.manifest.digest} is for linux/arm64, not linux/amd64.`
        )
        expect(snapshot(memory, dst)).toEqual({})
        const copied = yield* Copy.copy(layoutAt(src, "v1"), layoutAt(dst, "v1"), {
          platforms: [linuxAmd64, { os: "linux", architecture: "arm64", variant: "v8" }]
        })
        expect(copied.manifest.digest).toBe(image.manifest.digest)
      })
    )
  )

  it.effect("a dry run reports what would move and writes nothing", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, src)
        yield* writeLayout(new LayoutBuilder(), dst)
        yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "arm"), {
          platforms: [{ os: "linux", architecture: "arm", variant: "v7" }]
        })
        const memory = yield* testing.MemoryFileSystem
        const before = snapshot(memory, dst)
        const result = yield* Copy.copy(layoutAt(src, "multi"), layoutAt(dst, "all"), { dryRun: true })
        expect(snapshot(memory, dst)).toEqual(before)
        expect(digests(result.skipped)).toEqual(
          digests([image.armv7.manifest, image.armv7.config, ...image.armv7.layers])
        )
        expect(result.copied.map((d) => d.digest)).toContain(image.index.digest)
        expect(result.copied).toHaveLength(17 - 4)
        expect(result.bytes).toBe(result.copied.reduce((sum, d) => sum + d.size, 0))
      })
    )
  )

  it.effect("a source blob whose bytes are not its digest: DigestMismatch, and no tag", () =>
    run(
      Effect.gen(function* () {
        const { layer, manifest, memory } = yield* oneLayerAtSrc
        memory.writeText(blobPath(layer, src), "evil layer")
        const error = yield* Effect.flip(Copy.copy(layoutAt(src, "v1"), layoutAt(dst, "v1")))
        expect(error._tag).toBe("DigestMismatch")
        expect(memory.readText(blobPath(layer, dst))).toBeUndefined()
        expect(memory.readText(blobPath(manifest, dst))).toBeUndefined()
        expect(yield* entries(dst)).toEqual([])
      })
    )
  )

  it.effect("an interrupted copy leaves complete blobs and no tag; the rerun skips them", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["first", "second"] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, src)
        yield* writeLayout(new LayoutBuilder(), dst)
        const memory = yield* testing.MemoryFileSystem
        // The manifest's write never completes: every blob below it is in, and then the copy is stopped.
        memory.inject("rename", "hang", { path: blobPath(image.manifest.digest, dst) })
        const manifestPath = blobPath(image.manifest.digest, dst)
        const fiber = yield* Effect.fork(Copy.copy(layoutAt(src, "v1"), layoutAt(dst, "v1"), { jobs: 1 }))
        // Until the copy reaches the manifest's rename, and hangs there.
        while (!memory.calls().some((call) => call.op === "rename" && call.path === manifestPath)) {
          if (Option.isSome(yield* Fiber.poll(fiber))) break
          yield* TestClock.adjust("10 millis")
        }
        yield* Fiber.interrupt(fiber)
        expect(yield* entries(dst)).toEqual([])
        expect(memory.readText(blobPath(image.config.digest, dst))).toBeDefined()
        memory.clearFaults()
        const rerun = yield* Copy.copy(layoutAt(src, "v1"), layoutAt(dst, "v1"))
        expect(digests(rerun.skipped)).toEqual(digests([image.config, ...image.layers]))
        expect(digests(rerun.copied)).toEqual([image.manifest.digest])
        expect(Option.isSome(yield* Effect.flatMap(Layout.make({ directory: dst }), (l) => l.index.get("v1")))).toBe(
          true
        )
      })
    )
  )

  it.effect(
    "names: an unknown name is ImageNotFound; a layout of several entries needs one; a bad tag is refused first",
    () =>
      run(
        Effect.gen(function* () {
          const image = multiArch()
          yield* writeLayout(image.builder, src)
          const memory = yield* testing.MemoryFileSystem
          const missing = yield* Effect.flip(Copy.copy(layoutAt(src, "nope"), layoutAt(dst)))
          expect(missing._tag === "ImageNotFound" && missing.reason).toBe("no-entry")
          const ambiguous = yield* Effect.flip(Copy.copy(layoutAt(src), layoutAt(dst)))
          expect(ambiguous._tag === "ImageNotFound" && ambiguous.reason).toBe("ambiguous")
          expect(ambiguous.message).toContain("holds 3 entries")
          const badTag = yield* Effect.flip(Copy.copy(layoutAt(src, "single"), layoutAt(dst, "bad tag!")))
          expect(badTag._tag).toBe("InvalidReference")
          expect(snapshot(memory, dst)).toEqual({})
        })
      )
  )

  it.effect("--referrers: the artifacts whose subject is the image come along, as untagged entries", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, src)
        const without = yield* Copy.copy(layoutAt(src, "single"), layoutAt(dst, "single"))
        expect(digests(without.copied)).not.toContain(image.signature.digest)
        const withReferrers = yield* Copy.copy(layoutAt(src, "single"), layoutAt(dst, "single"), { referrers: true })
        expect(digests(withReferrers.copied)).toEqual(
          digests([image.signature, image.emptyConfig, ...(yield* signatureLayers(src, image.signature.digest))])
        )
        const listed = yield* entries(dst)
        expect(listed.map((d) => d.digest)).toEqual([image.single.manifest.digest, image.signature.digest])
      })
    )
  )
})

const signatureLayers = (directory: string, digest: string) =>
  Effect.gen(function* () {
    const layout = yield* Layout.make({ directory })
    const entry = (yield* layout.index.list).find((d) => d.digest === digest)
    if (entry === undefined) return []
    const content = yield* layout.content(entry)
    return content._tag === "Manifest" ? content.manifest.layers : []
  })

describe("Copy.copy into an archive file", () => {
  const archiveAt = (file: string, format: "oci" | "docker" = "oci"): Copy.Location => ({
    _tag: "Archive",
    format,
    file
  })
  const bytesOf = (chunks: Iterable<Uint8Array>) => new Uint8Array(Buffer.concat([...chunks]))

  it.effect("holds the bytes Archive.write streams (sha512 blobs' long names, blobs past the write buffer)", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        // Past 4 MiB: read into the file writer's buffers across two writes.
        const big = new Uint8Array(4 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251)
        const config = builder.config()
        const layers = [builder.layer(big), builder.layer("a sha512 layer", { algorithm: "sha512" })]
        const manifest = builder.manifest({ config, layers })
        builder.add(manifest, ["v1"])
        yield* writeLayout(builder, src)
        const memory = yield* testing.MemoryFileSystem
        for (const format of ["oci", "docker"] as const) {
          const file = `/out-${format}.tar`
          const result = yield* Copy.copy(layoutAt(src, "v1"), archiveAt(file, format))
          expect(result.manifest.digest).toBe(manifest.digest)
          const streamed = yield* Effect.flatMap(Archive.write(src, ["v1"], { format }), (w) =>
            Stream.runCollect(w.archive)
          )
          const written = memory.files()[file]
          // Compared by digest: a deep equality of a megabyte array takes vitest seconds.
          expect(digestOf(written ?? "")).toBe(digestOf(bytesOf(streamed)))
          // modern-tar writes the same bytes for the same fixed headers (a pax path for the sha512 blob's name).
          const entries = yield* Effect.promise(() => unpackTar(written ?? new Uint8Array()))
          expect(entries.map((e) => e.header.name)).toContain(
            `blobs/sha512/${layers[1]?.digest.slice("sha512:".length)}`
          )
          const fixed = entries.map((e) => ({
            header: {
              name: e.header.name,
              size: e.header.size,
              type: "file" as const,
              mode: 0o644,
              uid: 0,
              gid: 0,
              uname: "",
              gname: "",
              mtime: new Date(0)
            },
            body: e.data ?? new Uint8Array()
          }))
          expect(digestOf(yield* Effect.promise(() => packTar(fixed)))).toBe(digestOf(written ?? ""))
        }
      })
    )
  )

  it.effect("a blob whose bytes are not its digest, or not its size: DigestMismatch, and no file left", () =>
    run(
      Effect.gen(function* () {
        const { layer, memory } = yield* oneLayerAtSrc
        for (const evil of ["evil layer", "a longer evil layer"]) {
          memory.writeText(blobPath(layer, src), evil)
          const error = yield* Effect.flip(Copy.copy(layoutAt(src, "v1"), archiveAt("/out.tar")))
          expect(error._tag).toBe("DigestMismatch")
          expect(Object.keys(memory.files()).filter((path) => !path.startsWith(`${src}/`))).toEqual([])
        }
      })
    )
  )

  it.effect("two exports to one file at once each write a temp file of their own: the file is one whole archive", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        // Past one write buffer, so that both writers are in flight together.
        const big = new Uint8Array(6 * 1024 * 1024 + 3).map((_, i) => (i * 13) % 241)
        const image = builder.image({ layers: [big] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, src)
        const memory = yield* testing.MemoryFileSystem
        // Both start in the same millisecond: a temp name made from the time alone would be the same for both.
        const now = vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000)
        const exportTo = Copy.copy(layoutAt(src, "v1"), archiveAt("/same.tar"))
        yield* Effect.all([exportTo, exportTo], { concurrency: 2 }).pipe(
          Effect.ensuring(Effect.sync(() => now.mockRestore()))
        )
        const streamed = yield* Effect.flatMap(Archive.write(src, ["v1"]), (w) => Stream.runCollect(w.archive))
        expect(digestOf(memory.files()["/same.tar"] ?? "")).toBe(digestOf(bytesOf(streamed)))
        // No temp file is left beside it.
        expect(Object.keys(memory.files()).filter((path) => !path.startsWith(`${src}/`))).toEqual(["/same.tar"])
      })
    )
  )

  it.effect("a large blob found wrong at its end, after earlier buffers went to the writer: no file left", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        // Several write buffers' worth: the mismatch is found while an earlier buffer's write may be in flight.
        const good = new Uint8Array(9 * 1024 * 1024 + 5).map((_, i) => (i * 7) % 253)
        const image = builder.image({ layers: [good] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, src)
        const memory = yield* testing.MemoryFileSystem
        const layer = image.layers[0]?.digest ?? ""
        const evil = good.slice()
        evil[evil.length - 1] = (evil[evil.length - 1] ?? 0) ^ 1
        memory.writeText(blobPath(layer, src), evil)
        for (const format of ["oci", "docker"] as const) {
          const error = yield* Effect.flip(Copy.copy(layoutAt(src, "v1"), archiveAt("/out.tar", format)))
          expect(error).toMatchObject({ _tag: "DigestMismatch", path: blobPath(layer, src), actualSize: evil.length })
          expect(Object.keys(memory.files()).filter((path) => !path.startsWith(`${src}/`))).toEqual([])
        }
      })
    )
  )

  it.effect("a blob that is a link, even to the right bytes, is refused unread (ReadError symlink); no file left", () =>
    run(
      Effect.gen(function* () {
        const { layer, memory } = yield* oneLayerAtSrc
        const fs = yield* FileSystem.FileSystem
        memory.writeText("/elsewhere", "good layer")
        yield* fs.remove(blobPath(layer, src))
        yield* fs.symlink("/elsewhere", blobPath(layer, src))
        const error = yield* Effect.flip(Copy.copy(layoutAt(src, "v1"), archiveAt("/out.tar")))
        expect(error).toMatchObject({ _tag: "ReadError", reason: "symlink", path: blobPath(layer, src) })
        expect(Object.keys(memory.files()).filter((path) => !path.startsWith(`${src}/`))).toEqual(["/elsewhere"])
      })
    )
  )
})

describe("Copy.copy from an archive file", () => {
  const encoder = new TextEncoder()
  const json = (value: unknown) => encoder.encode(JSON.stringify(value))
  const entry = (name: string, body: Uint8Array) => ({
    header: { name, size: body.length, type: "file" as const },
    body
  })
  const blob = (body: Uint8Array) => entry(`blobs/sha256/${digestOf(body).slice("sha256:".length)}`, body)

  it.effect(
    "reads blobs larger than its read buffers, documents first or last, plain or gzip, each blob verified",
    () =>
      run(
        Effect.gen(function* () {
          // 20 MiB and odd sizes: more than the 16 MiB of buffers the file is read into, cut across them.
          const big = noise(20 * 1024 * 1024 + 513)
          const small = noise(3 * 1024 * 1024 + 7).reverse()
          const layers = [big, small].map((bytes) => ({
            mediaType: MediaType.ociLayerTar,
            digest: digestOf(bytes),
            size: bytes.length
          }))
          const config = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
          const configDesc = { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length }
          const manifest = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers })
          const manifestDesc = { mediaType: MediaType.ociManifest, digest: digestOf(manifest), size: manifest.length }
          const index = entry(
            "index.json",
            json({
              schemaVersion: 2,
              mediaType: MediaType.ociIndex,
              manifests: [{ ...manifestDesc, annotations: { "org.opencontainers.image.ref.name": "v1" } }]
            })
          )
          const layoutFile = entry("oci-layout", json({ imageLayoutVersion: "1.0.0" }))
          const blobs = [big, config, small, manifest].map(blob)
          const memory = yield* testing.MemoryFileSystem
          const orders = { last: [...blobs, index, layoutFile], first: [index, layoutFile, ...blobs] }
          for (const [order, entries] of Object.entries(orders)) {
            const plain = yield* Effect.promise(() => packTar(entries))
            const gzip = yield* Effect.promise(async () => {
              const stream = new Blob([plain]).stream().pipeThrough(new CompressionStream("gzip"))
              return new Uint8Array(await new Response(stream).arrayBuffer())
            })
            for (const [kind, bytes] of Object.entries({ plain, gzip })) {
              const file = `/in-${order}-${kind}.tar`
              const into = `/into-${order}-${kind}`
              memory.writeText(file, bytes)
              const result = yield* Copy.copy({ _tag: "Archive", format: "oci", file }, layoutAt(into, "v1"))
              expect(result.manifest.digest).toBe(manifestDesc.digest)
              const layout = yield* Layout.make({ directory: into })
              expect((yield* layout.index.list).map((d) => d.digest)).toEqual([manifestDesc.digest])
              // Every blob there, whole, and hashed again against its digest.
              for (const layer of layers) expect(memory.files()[blobPath(layer.digest, into)]?.length).toBe(layer.size)
              expect((yield* layout.verify()).ok).toBe(true)
            }
          }
        })
      ),
    120_000
  )
})
