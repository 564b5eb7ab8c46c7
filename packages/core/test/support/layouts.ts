/**
 * Builders of small image layouts in the in-memory file system, for the BlobStore and Layout tests:
 * config blobs, layer blobs, manifests, nested indexes with platforms and index.json entries, plus random
 * layouts and the corruptions verify must find.
 */
import { createHash } from "node:crypto"
import { FileSystem } from "@effect/platform"
import * as Annotations from "@ocidx/core/Annotations"
import { Descriptor, type DescriptorInput } from "@ocidx/core/Descriptor"
import * as Hasher from "@ocidx/core/Hasher"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import * as testing from "@ocidx/core/testing"
import { Effect, FastCheck, Layer, Schema } from "effect"

export const directory = "/l"
export const indexPath = `${directory}/index.json`
export const lockPath = `${directory}/index.json.lock`
export const layoutPath = `${directory}/oci-layout`
export const blobsDir = `${directory}/blobs`
export const layoutContent = `{"imageLayoutVersion":"1.0.0"}`

const encoder = new TextEncoder()
export const bytesOf = (content: string | Uint8Array): Uint8Array =>
  typeof content === "string" ? encoder.encode(content) : content

export type Algorithm = "sha256" | "sha512" | "sha1"

/** `alg:hex` of some bytes, computed by node:crypto (independently of the code under test). */
export const digestOf = (content: string | Uint8Array, algorithm: Algorithm = "sha256"): string =>
  `${algorithm}:${createHash(algorithm).update(bytesOf(content)).digest("hex")}`

/** Where a digest's blob lives in the layout. */
export const blobPath = (digest: string, dir = directory): string => {
  const colon = digest.indexOf(":")
  return `${dir}/blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`
}

export interface PlatformSpec {
  readonly os: string
  readonly architecture: string
  readonly variant?: string
}

/** A descriptor as JSON, with its platform when it has one. */
export type Desc = DescriptorInput

/** The decoded (branded) descriptor, for APIs that take one. */
export const decoded: (descriptor: Desc) => Descriptor = Schema.decodeSync(Descriptor)

/** What one image is made of. */
export interface Image {
  readonly config: Desc
  readonly layers: ReadonlyArray<Desc>
  readonly manifest: Desc
}

/** Rewrites a manifest's or index's JSON text, e.g. to add a duplicate key or break it. */
export type TextEdit = (json: string) => string

/** Builds a layout bottom-up: blobs first, then manifests that point at them, then index.json entries. */
export class LayoutBuilder {
  readonly blobs = new Map<string, Uint8Array>()
  readonly entries: Array<Desc> = []
  ociLayout: string | undefined = layoutContent
  /** index.json's text, when a test wants it exactly. */
  indexText: string | undefined = undefined

  /** Stores content and describes it. */
  blob(
    mediaType: string,
    content: string | Uint8Array,
    options?: { readonly algorithm?: Algorithm; readonly extra?: Partial<Desc> }
  ): Desc {
    const bytes = bytesOf(content)
    const digest = digestOf(bytes, options?.algorithm)
    this.blobs.set(digest, bytes)
    return { mediaType, digest, size: bytes.length, ...options?.extra }
  }

  config(platform: PlatformSpec = { os: "linux", architecture: "amd64" }, seed = ""): Desc {
    const json = JSON.stringify({
      ...platform,
      config: { Labels: { seed } },
      rootfs: { type: "layers", diff_ids: [] }
    })
    return this.blob(MediaType.ociConfig, json)
  }

  layer(content: string | Uint8Array, options?: { readonly algorithm?: Algorithm }): Desc {
    return this.blob(MediaType.ociLayerTar, content, options)
  }

  manifest(
    parts: {
      readonly config: Desc
      readonly layers: ReadonlyArray<Desc>
      readonly subject?: Desc
      readonly artifactType?: string
    },
    options?: { readonly platform?: PlatformSpec; readonly edit?: TextEdit; readonly mediaType?: string }
  ): Desc {
    const json = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      ...(parts.artifactType === undefined ? {} : { artifactType: parts.artifactType }),
      config: parts.config,
      layers: parts.layers,
      ...(parts.subject === undefined ? {} : { subject: parts.subject })
    })
    const text = options?.edit ? options.edit(json) : json
    return this.blob(options?.mediaType ?? MediaType.ociManifest, text, {
      ...(options?.platform === undefined ? {} : { extra: { platform: options.platform } })
    })
  }

  /** A nested index (multi-platform image) over `manifests`. */
  index(manifests: ReadonlyArray<Desc>, options?: { readonly edit?: TextEdit }): Desc {
    const json = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })
    return this.blob(MediaType.ociIndex, options?.edit ? options.edit(json) : json)
  }

  /** A config, `layers` and the manifest over them. */
  image(options: {
    readonly layers: ReadonlyArray<string | Uint8Array>
    readonly platform?: PlatformSpec
    readonly seed?: string
  }): Image {
    const config = this.config(options.platform, options.seed)
    const layers = options.layers.map((content) => this.layer(content))
    const manifest = this.manifest(
      { config, layers },
      options.platform === undefined ? undefined : { platform: options.platform }
    )
    return { config, layers, manifest }
  }

  /** An index.json entry per tag (one untagged entry when there is none). */
  add(descriptor: Desc, tags: ReadonlyArray<string> = []): this {
    if (tags.length === 0) this.entries.push(descriptor)
    for (const tag of tags) {
      this.entries.push({ ...descriptor, annotations: { ...descriptor.annotations, [Annotations.refName]: tag } })
    }
    return this
  }

  indexJson(): string {
    return (
      this.indexText ?? JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.entries })
    )
  }

  /** Writes the layout's files into the in-memory file system (use `writeLayout` for an empty blobs/ too). */
  writeTo(memory: testing.MemoryFileSystem, dir = directory): void {
    if (this.ociLayout !== undefined) memory.writeText(`${dir}/oci-layout`, this.ociLayout)
    memory.writeText(`${dir}/index.json`, this.indexJson())
    for (const [digest, bytes] of this.blobs) memory.writeText(blobPath(digest, dir), bytes)
  }
}

/** Writes the layout, `blobs/` included even when it holds nothing. */
export const writeLayout = (builder: LayoutBuilder, dir = directory) =>
  Effect.gen(function* () {
    const memory = yield* testing.MemoryFileSystem
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(`${dir}/blobs`, { recursive: true }).pipe(Effect.orDie)
    builder.writeTo(memory, dir)
  })

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

export const linuxAmd64: PlatformSpec = { os: "linux", architecture: "amd64" }
export const linuxArm64: PlatformSpec = { os: "linux", architecture: "arm64" }
export const linuxArm64v8: PlatformSpec = { os: "linux", architecture: "arm64", variant: "v8" }
export const linuxArmv7: PlatformSpec = { os: "linux", architecture: "arm", variant: "v7" }

/**
 * A multi-platform image tagged `multi`: amd64 (twice, so "first match wins" shows), arm64 without a
 * variant, arm64/v8 and arm/v7; a single-platform image tagged `single`; and a signature-like artifact
 * whose subject is `single`'s manifest.
 */
export const multiArch = () => {
  const builder = new LayoutBuilder()
  const amd64 = builder.image({ layers: ["amd64 layer"], platform: linuxAmd64, seed: "amd64" })
  const amd64Again = builder.image({ layers: ["amd64 again"], platform: linuxAmd64, seed: "amd64-2" })
  const arm64 = builder.image({ layers: ["arm64 layer"], platform: linuxArm64, seed: "arm64" })
  const arm64v8 = builder.image({ layers: ["arm64 v8 layer"], platform: linuxArm64v8, seed: "arm64v8" })
  const armv7 = builder.image({ layers: ["arm v7 layer", "second arm layer"], platform: linuxArmv7, seed: "armv7" })
  const index = builder.index([amd64.manifest, amd64Again.manifest, arm64.manifest, arm64v8.manifest, armv7.manifest])
  const single = builder.image({ layers: ["single layer"], seed: "single" })
  const emptyConfig = builder.blob(MediaType.ociEmpty, "{}")
  const signature = builder.manifest({
    config: emptyConfig,
    layers: [builder.blob("application/vnd.example.signature", "signed!")],
    subject: single.manifest,
    artifactType: "application/vnd.example.signature"
  })
  builder.add(index, ["multi"]).add(single.manifest, ["single"]).add(signature)
  return { builder, amd64, amd64Again, arm64, arm64v8, armv7, index, single, emptyConfig, signature }
}

// ---------------------------------------------------------------------------------------------------------
// Random layouts and corruptions
// ---------------------------------------------------------------------------------------------------------

export interface ImagePlan {
  readonly layers: ReadonlyArray<string>
  readonly platform: PlatformSpec
}

export interface EntryPlan {
  /** One image is a plain manifest entry; `nested` puts all of them under a nested index. */
  readonly images: ReadonlyArray<ImagePlan>
  readonly nested: boolean
  readonly tags: ReadonlyArray<string>
  /** Adds an artifact whose subject is this entry. */
  readonly referrer: boolean
}

export interface LayoutPlan {
  readonly entries: ReadonlyArray<EntryPlan>
}

const arbPlatform: FastCheck.Arbitrary<PlatformSpec> = FastCheck.constantFrom(
  linuxAmd64,
  linuxArm64,
  linuxArm64v8,
  linuxArmv7,
  { os: "windows", architecture: "amd64" }
)

const arbImage: FastCheck.Arbitrary<ImagePlan> = FastCheck.record({
  layers: FastCheck.array(FastCheck.string({ minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 3 }),
  platform: arbPlatform
})

const arbTag = FastCheck.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/)

export const arbPlan: FastCheck.Arbitrary<LayoutPlan> = FastCheck.record({
  entries: FastCheck.array(
    FastCheck.record({
      images: FastCheck.array(arbImage, { minLength: 1, maxLength: 3 }),
      nested: FastCheck.boolean(),
      tags: FastCheck.uniqueArray(arbTag, { maxLength: 2 }),
      referrer: FastCheck.boolean()
    }),
    { minLength: 1, maxLength: 3 }
  )
})

/** Changes made while the layout is built (they need new digests up the tree). */
export type BuildCorruption =
  | { readonly _tag: "WrongSize"; readonly pick: number }
  | { readonly _tag: "InvalidJson"; readonly pick: number }
  | { readonly _tag: "DuplicateKey"; readonly pick: number }
  | { readonly _tag: "BadRefName" }
  | { readonly _tag: "UnknownAlgorithm"; readonly pick: number }
  | { readonly _tag: "DataMismatch"; readonly pick: number }

/** Changes made to the files once the layout is written. */
export type FileCorruption =
  | { readonly _tag: "FlipByte"; readonly pick: number }
  | { readonly _tag: "Truncate"; readonly pick: number }
  | { readonly _tag: "Missing"; readonly pick: number; readonly strict: boolean }
  | { readonly _tag: "Symlink"; readonly pick: number }
  | { readonly _tag: "StrayFile" }
  | { readonly _tag: "BadLayoutVersion" }
  | { readonly _tag: "LayoutNotJson" }

export type Corruption = BuildCorruption | FileCorruption

const pick = FastCheck.nat({ max: 1000 })
export const arbCorruption: FastCheck.Arbitrary<Corruption> = FastCheck.oneof(
  pick.map((n): Corruption => ({ _tag: "WrongSize", pick: n })),
  pick.map((n): Corruption => ({ _tag: "InvalidJson", pick: n })),
  pick.map((n): Corruption => ({ _tag: "DuplicateKey", pick: n })),
  FastCheck.constant<Corruption>({ _tag: "BadRefName" }),
  pick.map((n): Corruption => ({ _tag: "UnknownAlgorithm", pick: n })),
  pick.map((n): Corruption => ({ _tag: "DataMismatch", pick: n })),
  pick.map((n): Corruption => ({ _tag: "FlipByte", pick: n })),
  pick.map((n): Corruption => ({ _tag: "Truncate", pick: n })),
  FastCheck.tuple(pick, FastCheck.boolean()).map(([n, strict]): Corruption => ({ _tag: "Missing", pick: n, strict })),
  pick.map((n): Corruption => ({ _tag: "Symlink", pick: n })),
  FastCheck.constant<Corruption>({ _tag: "StrayFile" }),
  FastCheck.constant<Corruption>({ _tag: "BadLayoutVersion" }),
  FastCheck.constant<Corruption>({ _tag: "LayoutNotJson" })
)

/** The findings (code and severity) a corruption must produce. */
export const expectedFindings = (
  corruption: Corruption
): ReadonlyArray<{ readonly code: string; readonly severity: Layout.Severity }> => {
  switch (corruption._tag) {
    case "WrongSize":
      return [{ code: "blob-size-mismatch", severity: "error" }]
    case "InvalidJson":
      return [{ code: "manifest-invalid", severity: "error" }]
    case "DuplicateKey":
      return [{ code: "duplicate-key", severity: "error" }]
    case "BadRefName":
      return [{ code: "ref-name-invalid", severity: "warning" }]
    case "UnknownAlgorithm":
      return [{ code: "blob-unverifiable", severity: "info" }]
    case "DataMismatch":
      return [{ code: "data-mismatch", severity: "error" }]
    case "FlipByte":
      return [{ code: "blob-digest-mismatch", severity: "error" }]
    case "Truncate":
      return [
        { code: "blob-size-mismatch", severity: "error" },
        { code: "blob-digest-mismatch", severity: "error" }
      ]
    case "Missing":
      return [{ code: "blob-missing", severity: corruption.strict ? "error" : "warning" }]
    case "Symlink":
      return [{ code: "blob-symlink", severity: "error" }]
    case "StrayFile":
      return [{ code: "stray-file", severity: "warning" }]
    case "BadLayoutVersion":
      return [{ code: "layout-version", severity: "error" }]
    case "LayoutNotJson":
      return [{ code: "layout-invalid", severity: "error" }]
  }
}

const at = <A>(items: ReadonlyArray<A>, n: number): A | undefined => items[n % Math.max(1, items.length)]

/** Builds a plan, applying a build-time corruption when one is given. Layer contents are made unique. */
export const buildPlan = (plan: LayoutPlan, corruption?: Corruption): LayoutBuilder => {
  const builder = new LayoutBuilder()
  let layerCount = 0
  let manifestCount = 0
  // A plain (not nested) entry uses only its first image.
  const imagesOf = (entry: EntryPlan) => (entry.nested ? entry.images : entry.images.slice(0, 1))
  const layerTotal = plan.entries.reduce(
    (sum, entry) => sum + imagesOf(entry).reduce((n, image) => n + image.layers.length, 0),
    0
  )
  const manifestTotal = plan.entries.reduce((sum, entry) => sum + imagesOf(entry).length, 0)
  const chosenLayer = corruption && "pick" in corruption ? corruption.pick % layerTotal : -1
  const chosenManifest = corruption && "pick" in corruption ? corruption.pick % manifestTotal : -1

  const layerOf = (content: string): Desc => {
    const index = layerCount++
    const unique = `${index}:${content}`
    const chosen = index === chosenLayer
    if (chosen && corruption?._tag === "UnknownAlgorithm") return builder.layer(unique, { algorithm: "sha1" })
    const layer = builder.layer(unique)
    if (chosen && corruption?._tag === "WrongSize") return { ...layer, size: layer.size + 1 }
    if (chosen && corruption?._tag === "DataMismatch") {
      // Same length as the content (so the schema accepts it), different bytes.
      const other = new Uint8Array(layer.size).fill(0x21)
      return { ...layer, data: Buffer.from(other).toString("base64") }
    }
    return layer
  }

  const imageOf = (image: ImagePlan, platform: boolean, seed: string): Desc => {
    const config = builder.config(image.platform, seed)
    const layers = image.layers.map(layerOf)
    const index = manifestCount++
    const chosen = index === chosenManifest
    const edit: TextEdit | undefined =
      chosen && corruption?._tag === "InvalidJson"
        ? (json) => json.slice(0, -1)
        : chosen && corruption?._tag === "DuplicateKey"
          ? (json) => json.replace('{"schemaVersion":2', '{"schemaVersion":2,"schemaVersion":2')
          : undefined
    return builder.manifest(
      { config, layers },
      { ...(platform ? { platform: image.platform } : {}), ...(edit ? { edit } : {}) }
    )
  }

  for (const [e, entry] of plan.entries.entries()) {
    const manifests = imagesOf(entry).map((image, i) => imageOf(image, entry.nested, `${e}.${i}`))
    const first = manifests[0]
    const top = entry.nested || first === undefined ? builder.index(manifests) : first
    const tags = e === 0 && corruption?._tag === "BadRefName" ? [...entry.tags, "bad tag!"] : entry.tags
    builder.add(top, tags)
    if (entry.referrer) {
      const config = builder.blob(MediaType.ociEmpty, "{}")
      const layer = builder.blob("application/vnd.example.sbom", `sbom of entry ${e}`)
      builder.add(
        builder.manifest({ config, layers: [layer], subject: top, artifactType: "application/vnd.example.sbom" })
      )
    }
  }
  return builder
}

/** Applies a corruption to the written files (build-time corruptions were applied by `buildPlan`). */
export const corruptFiles = (builder: LayoutBuilder, corruption: Corruption) =>
  Effect.gen(function* () {
    const memory = yield* testing.MemoryFileSystem
    const fs = yield* FileSystem.FileSystem
    const digests = [...builder.blobs.keys()].filter((digest) => digest.startsWith("sha256:"))
    const target = "pick" in corruption ? at(digests, corruption.pick) : undefined
    const file = target === undefined ? undefined : blobPath(target)
    const bytes = file === undefined ? undefined : memory.files()[file]
    switch (corruption._tag) {
      case "FlipByte": {
        if (file === undefined || bytes === undefined) return
        const flipped = bytes.slice()
        flipped[0] = (flipped[0] ?? 0) ^ 0xff
        memory.writeText(file, flipped)
        return
      }
      case "Truncate":
        if (file === undefined || bytes === undefined) return
        memory.writeText(file, bytes.slice(0, Math.floor(bytes.length / 2)))
        return
      case "Missing":
        if (file !== undefined) yield* fs.remove(file).pipe(Effect.orDie)
        return
      case "Symlink":
        if (file === undefined || bytes === undefined) return
        memory.writeText("/elsewhere/blob", bytes)
        yield* fs.remove(file).pipe(Effect.orDie)
        yield* fs.symlink("/elsewhere/blob", file).pipe(Effect.orDie)
        return
      case "StrayFile":
        memory.writeText(`${blobsDir}/sha256/not-a-digest`, "stray")
        return
      case "BadLayoutVersion":
        memory.writeText(layoutPath, `{"imageLayoutVersion":"2.0.0"}`)
        return
      case "LayoutNotJson":
        memory.writeText(layoutPath, "imageLayoutVersion: 1.0.0")
        return
      default:
        return
    }
  })

// ---------------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------------

/** A fresh in-memory world for one test (file system, lock, WebCrypto hasher). */
export const provideFresh = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provide(self, Layer.merge(testing.layer({ timeout: "1 second" }), Hasher.layerWebCrypto))

/** The layout at `/l` and the test controls. */
export const env = Effect.gen(function* () {
  const memory = yield* testing.MemoryFileSystem
  const lock = yield* testing.MemoryLock
  const layout = yield* Layout.make({ directory })
  return { memory, lock, layout }
})

/** The files under `dir`, by path, with their bytes as hex (to compare snapshots). */
export const snapshot = (memory: testing.MemoryFileSystem, prefix = "/"): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [path, bytes] of Object.entries(memory.files())) {
    if (path.startsWith(prefix)) out[path] = Buffer.from(bytes).toString("hex")
  }
  return out
}

/** The codes of a report's findings, with their severity: `error:blob-missing`. */
export const codes = (report: Layout.VerifyReport): ReadonlyArray<string> =>
  report.findings.map((finding) => `${finding.severity}:${finding.code}`)
