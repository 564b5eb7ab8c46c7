/**
 * Image archives in memory: hand-built tars (with modern-tar's writer, in containerd's entry order and with
 * the annotations buildx writes) read into a layout, every hostile or broken archive refused with its
 * ArchiveError and nothing tagged, and written archives byte-identical each time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Archive from "@ocidx/core/Archive"
import * as Digest from "@ocidx/core/Digest"
import * as Layout from "@ocidx/core/Layout"
import * as Reference from "@ocidx/core/Reference"
import { noise } from "@ocidx/testkit/Bytes"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import { packTar, type TarEntry, unpackTar } from "modern-tar"
import { digestOf, directory, provideFresh } from "./support/layouts.js"

const encoder = new TextEncoder()
const json = (value: unknown) => encoder.encode(JSON.stringify(value))

const file = (name: string, body: Uint8Array | string): TarEntry => {
  const bytes = typeof body === "string" ? encoder.encode(body) : body
  return { header: { name, size: bytes.length, type: "file" }, body: bytes }
}
const blobEntry = (bytes: Uint8Array) => file(`blobs/sha256/${digestOf(bytes).slice(7)}`, bytes)

/** A one-layer linux/amd64 image: its blobs and descriptors. */
const image = (marker = "layer", layer = encoder.encode(`${marker} bytes`)) => {
  const config = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digestOf(layer)] } })
  const layerDesc = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(layer), size: layer.length }
  const configDesc = {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: digestOf(config),
    size: config.length
  }
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: configDesc,
    layers: [layerDesc]
  })
  const manifestDesc = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: digestOf(manifest),
    size: manifest.length
  }
  return { layer, config, manifest, layerDesc, configDesc, manifestDesc, blobs: [layer, config, manifest] }
}

/** The index.json buildx writes: the full name as io.containerd.image.name, its tag as the ref name. */
const buildxIndex = (manifestDesc: object, name = "docker.io/library/app:v1", tag = "v1") =>
  json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        ...manifestDesc,
        annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag }
      }
    ]
  })

/** containerd's order: blobs sorted, then index.json, then oci-layout. */
const containerdOrder = (img: ReturnType<typeof image>, index = buildxIndex(img.manifestDesc)) => [
  ...img.blobs.map(blobEntry).sort((a, b) => (a.header.name < b.header.name ? -1 : 1)),
  file("index.json", index),
  file("oci-layout", '{"imageLayoutVersion":"1.0.0"}')
]

const tar = (entries: ReadonlyArray<TarEntry>) => Effect.promise(() => packTar(entries))
const gzip = (bytes: Uint8Array) =>
  Effect.promise(async () => {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"))
    return new Uint8Array(await new Response(stream).arrayBuffer())
  })

const read = (bytes: Uint8Array, options?: Archive.ReadOptions) =>
  Archive.read(Stream.make(bytes), "image.tar", directory, options)

const state = Effect.gen(function* () {
  const layout = yield* Layout.make({ directory })
  const entries = yield* layout.index.list
  const report = yield* layout.verify()
  return { entries, ok: report.ok, errors: report.findings.filter((f) => f.severity === "error") }
})

/** The archive is refused with `reason`, naming `entry`; nothing is tagged and verify stays clean. */
const refused = (bytes: Uint8Array, reason: string, entry: string) =>
  Effect.gen(function* () {
    yield* Effect.flatMap(Layout.make({ directory }), (layout) => layout.init)
    const error = yield* Effect.flip(read(bytes))
    expect(error._tag).toBe("ArchiveError")
    if (error._tag !== "ArchiveError") return
    expect({ reason: error.reason, entry: error.entry }).toEqual({ reason, entry })
    expect(error.message).not.toContain("\n")
    const after = yield* state
    expect(after.entries).toEqual([])
    expect(after.errors).toEqual([])
    expect(after.ok).toBe(true)
  })

describe("Archive.read", () => {
  it.effect("reads a buildx/containerd-ordered OCI archive: the full name and the ref name kept", () =>
    provideFresh(
      Effect.gen(function* () {
        const img = image()
        const result = yield* read(yield* tar(containerdOrder(img)))
        expect(result.images.map((i) => i.descriptor.digest)).toEqual([img.manifestDesc.digest])
        const { entries, ok } = yield* state
        expect(ok).toBe(true)
        expect(entries).toEqual([
          {
            ...img.manifestDesc,
            annotations: {
              "io.containerd.image.name": "docker.io/library/app:v1",
              "org.opencontainers.image.ref.name": "v1"
            }
          }
        ])
        expect(result.copied.map((d) => d.mediaType).sort()).toEqual([
          "application/vnd.oci.image.config.v1+json",
          "application/vnd.oci.image.layer.v1.tar",
          "application/vnd.oci.image.manifest.v1+json"
        ])
      })
    )
  )

  it.effect("reads index.json first, gzip by magic, directory entries, and --tag instead of the names", () =>
    provideFresh(
      Effect.gen(function* () {
        const img = image()
        const entries = [
          file("oci-layout", '{"imageLayoutVersion":"1.0.0"}'),
          file("index.json", buildxIndex(img.manifestDesc)),
          { header: { name: "blobs/", size: 0, type: "directory" as const } },
          { header: { name: "blobs/sha256/", size: 0, type: "directory" as const } },
          ...img.blobs.map(blobEntry)
        ]
        const bytes = yield* gzip(yield* tar(entries))
        yield* read(bytes, { tags: [Either.getOrThrow(Reference.tag("imported"))] })
        const { entries: listed } = yield* state
        expect(listed.map((e) => e.annotations)).toEqual([{ "org.opencontainers.image.ref.name": "imported" }])
      })
    )
  )

  it.effect("a legacy docker archive becomes an OCI manifest, config byte for byte, layer.tar links resolved", () =>
    provideFresh(
      Effect.gen(function* () {
        const img = image()
        const configHex = digestOf(img.config).slice(7)
        const id1 = "a".repeat(64)
        const id2 = "b".repeat(64)
        const entries: Array<TarEntry> = [
          // The link comes before its target: one pass still resolves it at the end.
          { header: { name: `${id2}/layer.tar`, size: 0, type: "symlink", linkname: `../${id1}/layer.tar` } },
          file(`${id1}/layer.tar`, img.layer),
          file(`${id1}/VERSION`, "1.0"),
          { header: { name: `${id2}/VERSION`, size: 0, type: "symlink", linkname: `../${id1}/VERSION` } },
          file(`${configHex}.json`, img.config),
          file(
            "manifest.json",
            JSON.stringify([
              {
                Config: `${configHex}.json`,
                RepoTags: ["example.com/app:v1"],
                Layers: [`${id1}/layer.tar`, `${id2}/layer.tar`]
              }
            ])
          ),
          file("repositories", "{}")
        ]
        const result = yield* read(yield* tar(entries))
        const [only] = result.images
        expect(only).toBeDefined()
        if (only === undefined) return
        const layout = yield* Layout.make({ directory })
        const manifest = JSON.parse(new TextDecoder().decode(yield* layout.blobs.get(only.descriptor.digest)))
        expect(manifest.config).toEqual({ ...img.configDesc })
        expect(manifest.layers).toEqual([img.layerDesc, img.layerDesc])
        expect(yield* layout.blobs.get(Schema.decodeSync(Digest.Digest)(img.configDesc.digest))).toEqual(img.config)
        const { entries: listed, ok } = yield* state
        expect(ok).toBe(true)
        expect(listed[0]?.platform).toEqual({ os: "linux", architecture: "amd64" })
        expect(listed[0]?.annotations?.["io.containerd.image.name"]).toBe("example.com/app:v1")
      })
    )
  )

  it.effect("a Docker 25+ archive (both forms) is read as its OCI layout", () =>
    provideFresh(
      Effect.gen(function* () {
        const img = image()
        const entries = [
          ...containerdOrder(img),
          file(
            "manifest.json",
            JSON.stringify([
              {
                Config: `blobs/sha256/${img.configDesc.digest.slice(7)}`,
                RepoTags: ["app:v1"],
                Layers: [`blobs/sha256/${img.layerDesc.digest.slice(7)}`]
              }
            ])
          )
        ]
        const result = yield* read(yield* tar(entries))
        expect(result.images.map((i) => i.descriptor.digest)).toEqual([img.manifestDesc.digest])
      })
    )
  )
})

/** `bytes` as a source that delivers `size` bytes at a time, as a file read with that buffer size would. */
const chunked = (bytes: Uint8Array, size: number) =>
  Stream.fromIterable(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
    })()
  )

describe("Archive.read judges the size rule the same however the input is chunked", () => {
  // A 6 MiB layer: larger than the rule's 1 MiB of slack, so a check that runs ahead of the headers shows.
  // Byte-sized pieces of 6 MiB would take minutes: those read the small image, which proves the same path.
  const big = image("big", noise(6 * 1024 * 1024))
  const small = image()
  for (const compressed of [false, true]) {
    for (const size of [1, 7, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024]) {
      const img = size < 1024 ? small : big
      it.effect(
        `a valid ${compressed ? "gzip " : ""}archive fed ${size} bytes at a time is read`,
        () =>
          provideFresh(
            Effect.gen(function* () {
              const plain = yield* tar(containerdOrder(img))
              const bytes = compressed ? yield* gzip(plain) : plain
              const result = yield* Archive.read(chunked(bytes, size), "image.tar", directory)
              expect(result.images.map((i) => i.descriptor.digest)).toEqual([img.manifestDesc.digest])
              const { ok } = yield* state
              expect(ok).toBe(true)
            })
          ),
        120_000
      )
    }
  }

  it.effect(
    "a gzip bomb fed 8 MiB at a time is still refused",
    () =>
      provideFresh(
        Effect.gen(function* () {
          const bytes = yield* tar(containerdOrder(image()))
          const bomb = new Uint8Array(64 * 1024 * 1024)
          bomb.set(bytes.subarray(0, bytes.length - 1024))
          const error = yield* Effect.flip(
            Archive.read(chunked(yield* gzip(bomb), 8 * 1024 * 1024), "image.tar", directory)
          )
          expect(error._tag).toBe("ArchiveError")
          if (error._tag !== "ArchiveError") return
          expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: "too-large", entry: "" })
          // Cut off a few MiB in (the rule plus its read-ahead), not after inflating all 64 MiB.
          expect(Number(/over (\d+) bytes/.exec(error.detail)?.[1])).toBeLessThan(8 * 1024 * 1024)
          expect((yield* state).entries).toEqual([])
        })
      ),
    120_000
  )
})

describe("Archive.read refuses hostile and broken archives", () => {
  const img = image()
  const good = containerdOrder(img)
  const cases: ReadonlyArray<readonly [string, () => Effect.Effect<Uint8Array>, string, string]> = [
    ["../ paths", () => tar([file("../evil", "x"), ...good]), "unsafe-path", "../evil"],
    ["absolute paths", () => tar([file("/etc/passwd", "x"), ...good]), "unsafe-path", "/etc/passwd"],
    [
      "a symlink out of the archive",
      () =>
        tar([
          { header: { name: `${"c".repeat(64)}/layer.tar`, size: 0, type: "symlink", linkname: "../../etc/passwd" } },
          ...good
        ]),
      "unsafe-link",
      `${"c".repeat(64)}/layer.tar`
    ],
    [
      "a hard link to an absolute path",
      () =>
        tar([
          { header: { name: `blobs/sha256/${"d".repeat(64)}`, size: 0, type: "link", linkname: "/etc/shadow" } },
          ...good
        ]),
      "unsafe-link",
      `blobs/sha256/${"d".repeat(64)}`
    ],
    [
      "a symlink as index.json",
      () =>
        tar([
          ...good.slice(0, 3),
          { header: { name: "index.json", size: 0, type: "symlink", linkname: "oci-layout" } }
        ]),
      "unsafe-link",
      "index.json"
    ],
    [
      "a device",
      () => tar([{ header: { name: `blobs/sha256/${"e".repeat(64)}`, size: 0, type: "character-device" } }, ...good]),
      "unsupported-entry",
      `blobs/sha256/${"e".repeat(64)}`
    ],
    [
      "a FIFO",
      () => tar([{ header: { name: "oci-layout", size: 0, type: "fifo" } }, ...good]),
      "unsupported-entry",
      "oci-layout"
    ],
    ["an unknown file", () => tar([file("run.sh", "rm -rf /"), ...good]), "unsupported-entry", "run.sh"],
    [
      "index.json twice with different content",
      () => tar([...good, file("index.json", buildxIndex(img.manifestDesc, "docker.io/library/app:v2", "v2"))]),
      "duplicate",
      "index.json"
    ],
    [
      "index.json naming a blob the archive lacks",
      () => tar(good.filter((entry) => entry.header.name !== `blobs/sha256/${img.layerDesc.digest.slice(7)}`)),
      "missing-blob",
      `blobs/sha256/${img.layerDesc.digest.slice(7)}`
    ],
    [
      "a blob whose bytes do not match its name",
      () =>
        tar([
          file(`blobs/sha256/${img.layerDesc.digest.slice(7)}`, encoder.encode("other bytes")),
          ...good.filter((entry) => entry.header.name !== `blobs/sha256/${img.layerDesc.digest.slice(7)}`)
        ]),
      "digest-mismatch",
      `blobs/sha256/${img.layerDesc.digest.slice(7)}`
    ],
    [
      "a blob of another size than its descriptor says (index.json first)",
      () =>
        tar([
          file("index.json", buildxIndex({ ...img.manifestDesc, size: img.manifestDesc.size + 1 })),
          ...img.blobs.map(blobEntry)
        ]),
      "size-mismatch",
      `blobs/sha256/${img.manifestDesc.digest.slice(7)}`
    ],
    ["a truncated tar", () => Effect.map(tar(good), (bytes) => bytes.subarray(0, 700)), "truncated", ""],
    [
      "a truncated gzip stream",
      () => Effect.map(Effect.flatMap(tar(good), gzip), (bytes) => bytes.subarray(0, bytes.length - 20)),
      "truncated",
      ""
    ],
    [
      "a gzip bomb (zeros far beyond the entries, 64 MiB from a few KiB)",
      () =>
        Effect.flatMap(tar(good), (bytes) => {
          const bomb = new Uint8Array(64 * 1024 * 1024)
          bomb.set(bytes.subarray(0, bytes.length - 1024))
          return gzip(bomb)
        }),
      "too-large",
      ""
    ],
    [
      "a manifest.json not in docker's shape",
      () => tar([file("manifest.json", JSON.stringify({ Config: "x.json" }))]),
      "not-docker",
      "manifest.json"
    ],
    ["no image at all", () => tar([file("oci-layout", '{"imageLayoutVersion":"1.0.0"}')]), "malformed", ""]
  ]
  for (const [title, make, reason, entry] of cases) {
    it.effect(`${title}: ${reason}`, () =>
      provideFresh(Effect.flatMap(make(), (bytes) => refused(bytes, reason, entry)))
    )
  }
})

describe("Archive.write", () => {
  it.effect("is deterministic, in containerd's order, with fixed headers, and reads back", () =>
    provideFresh(
      Effect.gen(function* () {
        const img = image()
        yield* read(yield* tar(containerdOrder(img)))
        const once = yield* Effect.flatMap(Archive.write(directory, ["v1"]), (w) => Stream.runCollect(w.archive))
        const twice = yield* Effect.flatMap(Archive.write(directory, []), (w) => Stream.runCollect(w.archive))
        const bytes = concat(once)
        expect(bytes).toEqual(concat(twice))
        const entries = yield* Effect.promise(() => unpackTar(bytes))
        expect(entries.map((e) => e.header.name)).toEqual([
          ...img.blobs.map((b) => `blobs/sha256/${digestOf(b).slice(7)}`).sort(),
          "index.json",
          "oci-layout"
        ])
        for (const entry of entries) {
          expect([entry.header.uid, entry.header.gid, entry.header.mode, entry.header.mtime?.getTime()]).toEqual([
            0, 0, 0o644, 0
          ])
        }
        const docker = yield* Effect.flatMap(Archive.write(directory, ["v1"], { format: "docker" }), (w) =>
          Stream.runCollect(w.archive)
        )
        const dockerEntries = yield* Effect.promise(() => unpackTar(concat(docker)))
        const manifest = dockerEntries.find((e) => e.header.name === "manifest.json")
        expect(JSON.parse(new TextDecoder().decode(manifest?.data))).toEqual([
          {
            Config: `blobs/sha256/${img.configDesc.digest.slice(7)}`,
            RepoTags: ["docker.io/library/app:v1"],
            Layers: [`blobs/sha256/${img.layerDesc.digest.slice(7)}`]
          }
        ])
      })
    )
  )

  it.effect("several names give one archive holding them all, each blob once", () =>
    provideFresh(
      Effect.gen(function* () {
        const one = image("one")
        const two = image("two")
        yield* read(yield* tar(containerdOrder(one)))
        yield* read(yield* tar(containerdOrder(two, buildxIndex(two.manifestDesc, "docker.io/library/app:v2", "v2"))))
        const written = yield* Archive.write(directory, ["v1", "docker.io/library/app:v2"])
        const bytes = concat(yield* Stream.runCollect(written.archive))
        const entries = yield* Effect.promise(() => unpackTar(bytes))
        const index = JSON.parse(new TextDecoder().decode(entries.find((e) => e.header.name === "index.json")?.data))
        expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([
          one.manifestDesc.digest,
          two.manifestDesc.digest
        ])
        expect(entries.filter((e) => e.header.name.startsWith("blobs/"))).toHaveLength(6)
      })
    )
  )

  it.effect("a name the layout lacks is ImageNotFound", () =>
    provideFresh(
      Effect.gen(function* () {
        yield* read(yield* tar(containerdOrder(image())))
        const error = yield* Effect.flip(Archive.write(directory, ["nope"]))
        expect(error._tag).toBe("ImageNotFound")
      })
    )
  )
})

const concat = (chunks: Chunk.Chunk<Uint8Array>) => new Uint8Array(Buffer.concat(Chunk.toReadonlyArray(chunks)))
