/**
 * Image archives: reading one (OCI, legacy docker, Docker 25+) into a layout in one streaming pass, and
 * writing one from a layout, deterministically.
 *
 * Reading: every blob goes straight into the layout's BlobStore as it streams (verified against the digest
 * its path names; legacy docker files hashed to learn theirs); only the small documents (`index.json`,
 * `manifest.json`, `oci-layout`, `repositories`) are kept, and they are applied at the end, when the whole
 * archive has been seen: that is what lets `index.json` come first or last, and a `layer.tar` symlink come
 * before its target, in one pass with flat memory. Names are written last, with one `putAll` under the lock.
 *
 * The size rule (gzip bombs): the tar may hold no more bytes, decompressed, than its entries declare (their
 * sizes, plus 64 KiB of headers per entry and 1 MiB of trailer); a blob whose descriptor is already known when
 * it arrives must have that size before a byte is stored; every other blob is checked against every
 * descriptor naming it at the end; documents are capped at 4 MiB. So a small archive cannot expand beyond
 * what its own headers say, and a blob named by a descriptor seen earlier cannot exceed it.
 * @internal
 */
import type { Image, ReadOptions, ReadResult } from "../../Archive.js"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Failure } from "../../Copy.js"
import type { Descriptor } from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { ArchiveError, type DigestMismatch, ImageNotFound } from "../../Errors.js"
import { NestedIndex } from "../../ImageIndex.js"
import type { Layout } from "../../Layout.js"
import * as MediaType from "../../MediaType.js"
import { MediaType as MediaTypeSchema } from "../../MediaType.js"
import type { NameOrTag } from "../../Reference.js"
import * as Reference from "../../Reference.js"
import { quote } from "../../Text.js"
import { decodeJsonFile } from "../decode.js"
import * as JsonReader from "../jsonReader.js"
import { namesOf, withoutNames } from "./layout.js"
import { LooseManifest } from "./looseManifest.js"
import * as Tar from "./tar.js"

/** An image an archive holds, and the names it gives it. @internal */

type Kind =
  | { readonly _tag: "Document" }
  | { readonly _tag: "Blob"; readonly digest: Digest.Digest }
  | { readonly _tag: "DockerFile" }
  | { readonly _tag: "Ignored" }
  | { readonly _tag: "Directory" }

// Decoded once at module load, as MediaType's own constants are.
const octetStream = Schema.decodeSync(MediaTypeSchema)("application/octet-stream")

const documents = new Set(["oci-layout", "index.json", "manifest.json", "repositories"])
const hex64 = "[a-f0-9]{64}"
const blobPath = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/
const dockerConfigPath = new RegExp(`^${hex64}\\.json$`)
// `<id>/layer.tar` as docker save writes it; `<hex>.tar` as skopeo's docker-archive: writes it.
const dockerLayerPath = new RegExp(`^(${hex64}/layer|${hex64})\\.tar$`)
const dockerIgnoredPath = new RegExp(`^${hex64}/(json|VERSION)$`)
const knownDirectory = new RegExp(`^(blobs|blobs/[a-z0-9]+|${hex64})$`)

/** What a (normalized) path is in an image archive, or undefined when an image archive holds no such file. */
const kindOf = (path: string, directory: boolean): Kind | undefined => {
  if (directory) return knownDirectory.test(path) ? { _tag: "Directory" } : undefined
  if (documents.has(path)) return { _tag: "Document" }
  const blob = blobPath.exec(path)
  if (blob !== null) {
    const digest = Digest.parse(`${blob[1]}:${blob[2]}`)
    return Option.isSome(digest) ? { _tag: "Blob", digest: digest.value } : undefined
  }
  if (dockerConfigPath.test(path) || dockerLayerPath.test(path)) return { _tag: "DockerFile" }
  if (dockerIgnoredPath.test(path)) return { _tag: "Ignored" }
  return undefined
}

/** `a/./b//c/` as `a/b/c`; undefined when the path is absolute or climbs with `..`. */
const normalize = (path: string): string | undefined => {
  if (path.startsWith("/")) return undefined
  const parts = path.split("/").filter((part) => part !== "" && part !== ".")
  return parts.includes("..") ? undefined : parts.join("/")
}

/** A link target as a path inside the archive: symlinks relative to their folder, hard links to the root. */
const resolveLink = (from: string, target: string, symbolic: boolean): string | undefined => {
  if (target.startsWith("/")) return undefined
  const parts = symbolic ? from.split("/").slice(0, -1) : []
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      if (parts.length === 0) return undefined
      parts.pop()
    } else parts.push(part)
  }
  return parts.join("/")
}

const DockerManifest = Schema.Array(
  Schema.Struct(
    {
      Config: Schema.String,
      RepoTags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
      Layers: Schema.Array(Schema.String)
    },
    { key: Schema.String, value: Schema.Unknown }
  )
).annotations({ identifier: "DockerManifest" })

const Loose = Schema.Struct({
  config: Schema.optional(Schema.Struct({ digest: Schema.String, size: Schema.Number, mediaType: Schema.String })),
  layers: Schema.optional(
    Schema.Array(Schema.Struct({ digest: Schema.String, size: Schema.Number, mediaType: Schema.String }))
  ),
  blobs: Schema.optional(
    Schema.Array(Schema.Struct({ digest: Schema.String, size: Schema.Number, mediaType: Schema.String }))
  ),
  manifests: Schema.optional(
    Schema.Array(Schema.Struct({ digest: Schema.String, size: Schema.Number, mediaType: Schema.String }))
  )
})

const ConfigPlatform = Schema.Struct({
  os: Schema.String,
  architecture: Schema.String,
  variant: Schema.optional(Schema.String)
})

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.length
  }
  return bytes
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i])

/**
 * Reads the archive `content` into `layout`: blobs as they stream, names last. `archive` is how messages
 * name it. `consumed`, when given, hears of a buffer of a blob or a skipped body when its reader pulls it:
 * every byte of the archive before that buffer has then been read by whoever needed it, and no earlier buffer
 * is kept (BlobStore.put keeps none past the step that delivered it; documents are collected apart, and never
 * reported), so a source may reuse the memory of the earlier buffers.
 * @internal
 */
export const read = <E, R>(
  content: Stream.Stream<Uint8Array, E, R>,
  archive: string,
  layout: Layout,
  options: ReadOptions = {},
  consumed?: (buffer: Uint8Array) => void
): Effect.Effect<ReadResult, E | Failure | ArchiveError, R> =>
  Effect.gen(function* () {
    const report = options.onProgress ?? (() => Effect.void)
    const refuse = (entry: string, reason: ArchiveError["reason"], detail: string) =>
      new ArchiveError({ archive, entry, reason, detail })

    const docs = new Map<string, Uint8Array>()
    /** Regular files stored in the BlobStore, by path. */
    const stored = new Map<string, { readonly digest: Digest.Digest; readonly size: number; readonly gzip: boolean }>()
    const links = new Map<string, { readonly target: string; readonly entry: string }>()
    /** Sizes descriptors named so far (index.json or manifests read before their blobs arrive). */
    const declared = new Map<string, number>()
    const copied: Array<Descriptor> = []
    /** The descriptors that name what arrived, for the result. */
    const described = new Map<string, Descriptor>()
    const skipped: Array<Descriptor> = []
    let bytes = 0
    // The layout is created (where missing) by the first write, so an archive refused early leaves no trace.
    let prepared = false
    const prepare = Effect.suspend(() => (prepared ? Effect.void : Effect.tap(layout.init, () => (prepared = true))))
    let budget = Tar.trailerAllowance + Tar.overheadPerEntry

    const learn = (raw: unknown) => {
      const loose = Schema.decodeUnknownOption(Loose)(raw)
      if (Option.isNone(loose)) return
      const { config, layers, blobs, manifests } = loose.value
      for (const d of [...(config ? [config] : []), ...(layers ?? []), ...(blobs ?? []), ...(manifests ?? [])]) {
        declared.set(d.digest, d.size)
      }
    }
    const learnBytes = (bytes: Uint8Array) => {
      const parsed = Either.try(() => JSON.parse(new TextDecoder().decode(bytes)))
      if (Either.isRight(parsed)) learn(parsed.right)
    }

    const drain = (body: Stream.Stream<Uint8Array, ArchiveError>) =>
      consumed === undefined
        ? Stream.runDrain(body)
        : Stream.runForEachChunk(body, (chunk) =>
            Effect.sync(() => {
              for (const buffer of chunk) consumed(buffer)
            })
          )
    const collect = (entry: string, size: number, body: Stream.Stream<Uint8Array, ArchiveError>) =>
      size > JsonReader.maxDocumentBytes
        ? Effect.fail(
            refuse(
              entry,
              "too-large",
              `it is ${size} bytes; ocidx reads documents up to ${JsonReader.maxDocumentBytes}`
            )
          )
        : Effect.map(Stream.runCollect(body), (chunks) => concat([...chunks]))

    const store = (
      entry: string,
      size: number,
      body: Stream.Stream<Uint8Array, ArchiveError>,
      expected: Digest.Digest | undefined
    ) =>
      Effect.gen(function* () {
        const named: Descriptor | undefined =
          expected === undefined ? undefined : { mediaType: octetStream, digest: expected, size }
        if (named !== undefined) yield* report({ _tag: "Started", descriptor: named })
        let gzip = false
        let done = 0
        // Counted per chunk of buffers, synchronously, and progress reported once per chunk, only when named:
        // an Effect per buffer costs more than the bytes it moves.
        const counted = body.pipe(
          Stream.mapChunksEffect((chunk) => {
            // Only the first buffer: the store takes this chunk's buffers one after another, across writes.
            if (consumed !== undefined && Chunk.isNonEmpty(chunk)) consumed(Chunk.headNonEmpty(chunk))
            for (const buffer of chunk) {
              if (done === 0 && buffer.length >= 2) gzip = buffer[0] === 0x1f && buffer[1] === 0x8b
              done += buffer.length
            }
            return named === undefined
              ? Effect.succeed(chunk)
              : Effect.as(report({ _tag: "Bytes", descriptor: named, done }), chunk)
          })
        )
        // A blob the layout already has is skipped, as a copy skips it: the layout's bytes are the named ones.
        yield* prepare
        const present = expected === undefined ? false : yield* layout.blobs.has(expected)
        const info =
          present && expected !== undefined
            ? { digest: expected, size }
            : yield* layout.blobs.put(counted, expected === undefined ? {} : { expected: { digest: expected, size } })
        // Whatever the store did not read (all of it, when skipped) is read past, so the next entry can come.
        yield* drain(body)
        const descriptor: Descriptor = { mediaType: octetStream, digest: info.digest, size: info.size }
        if (present) skipped.push(descriptor)
        else {
          copied.push(descriptor)
          bytes += info.size
        }
        if (named !== undefined)
          yield* report({ _tag: "Finished", descriptor: named, outcome: present ? "skipped" : "copied" })
        return { digest: info.digest, size: info.size, gzip }
      }).pipe(
        Effect.catchTag("DigestMismatch", (error: DigestMismatch) =>
          Effect.fail(
            refuse(
              entry,
              "digest-mismatch",
              `its bytes are ${error.actualDigest ?? "other"} (${error.actualSize} bytes), not the ${error.expectedDigest} its name says`
            )
          )
        )
      )

    const handle = (entry: Tar.Entry) =>
      Effect.gen(function* () {
        const { header } = entry
        const name = header.name
        const size = header.size
        budget += size + Tar.overheadPerEntry
        const type = header.type ?? "file"
        const path = normalize(name)
        if (path === undefined) {
          return yield* refuse(name, "unsafe-path", "an absolute path, or one that climbs out with '..'")
        }
        const isDirectory = type === "directory"
        if (!isDirectory && type !== "file" && type !== "symlink" && type !== "link") {
          return yield* refuse(name, "unsupported-entry", `a ${type} entry: an image archive holds only regular files`)
        }
        const kind = kindOf(path, isDirectory)
        if (kind === undefined) {
          return yield* refuse(name, "unsupported-entry", "not a file an OCI or docker image archive holds")
        }
        if (kind._tag === "Directory") return yield* drain(entry.body)
        if (type === "symlink" || type === "link") {
          yield* drain(entry.body)
          const target = resolveLink(path, header.linkname ?? "", type === "symlink")
          if (target === undefined || kind._tag === "Document") {
            return yield* refuse(
              name,
              "unsafe-link",
              `a ${type === "symlink" ? "symbolic" : "hard"} link to ${quote(header.linkname ?? "")}: only blobs and docker's layer files may link, and only to a file inside the archive`
            )
          }
          // Docker's per-layer json and VERSION are not read: a link there only has to stay inside.
          if (kind._tag === "Ignored") return
          const known = links.get(path)
          if (known !== undefined && known.target !== target) {
            return yield* refuse(name, "duplicate", "the archive holds it twice, with different content")
          }
          links.set(path, { target, entry: name })
          return
        }
        switch (kind._tag) {
          case "Ignored":
            return yield* Effect.asVoid(collect(name, size, entry.body))
          case "Document": {
            const bytes = yield* collect(name, size, entry.body)
            const known = docs.get(path)
            if (known !== undefined && !sameBytes(known, bytes)) {
              return yield* refuse(name, "duplicate", "the archive holds it twice, with different content")
            }
            if (path === "index.json") learnBytes(bytes)
            docs.set(path, bytes)
            return
          }
          case "Blob": {
            const want = declared.get(kind.digest)
            if (want !== undefined && want !== size) {
              return yield* refuse(name, "size-mismatch", `it is ${size} bytes, but a descriptor says ${want}`)
            }
            const info = yield* store(name, size, entry.body, kind.digest)
            if (size <= JsonReader.maxDocumentBytes && size > 0) {
              // A manifest or index read early tells the sizes of blobs still to come.
              const bytes = yield* layout.blobs.get(info.digest, { size })
              learnBytes(bytes)
            }
            stored.set(path, info)
            return
          }
          case "DockerFile": {
            const info = yield* store(name, size, entry.body, undefined)
            const known = stored.get(path)
            if (known !== undefined && known.digest !== info.digest) {
              return yield* refuse(name, "duplicate", "the archive holds it twice, with different content")
            }
            stored.set(path, info)
            return
          }
        }
      })

    yield* Stream.runForEach(
      Tar.entries(content, archive, () => budget),
      handle
    )

    /** The stored file a path names, through links (which may have come before their targets). */
    const resolve = (path: string, entry: string) =>
      Effect.gen(function* () {
        let at = path
        for (let hops = 0; hops < 16; hops++) {
          const file = stored.get(at)
          if (file !== undefined) return file
          const link = links.get(at)
          if (link === undefined) break
          at = link.target
        }
        return yield* refuse(entry, "missing-blob", `${quote(path)} is not a file in the archive`)
      })

    const images: Array<Image> = []
    const indexBytes = docs.get("index.json")
    const manifestBytes = docs.get("manifest.json")
    if (indexBytes !== undefined) {
      const { value: index } = yield* decodeJsonFile(NestedIndex, `${archive}: index.json`, indexBytes)
      // Every descriptor below the index: present in the archive, with the size it says.
      const check = (d: Descriptor, from: string) =>
        Effect.gen(function* () {
          const digest = Digest.parse(d.digest)
          const path = Option.isSome(digest)
            ? `blobs/${Digest.algorithm(digest.value)}/${Digest.encoded(digest.value)}`
            : d.digest
          const file = stored.get(path) ?? (links.has(path) ? yield* resolve(path, path) : undefined)
          if (file === undefined) {
            return yield* refuse(path, "missing-blob", `${from} names it, but the archive does not hold it`)
          }
          if (file.size !== d.size) {
            return yield* refuse(path, "size-mismatch", `it is ${file.size} bytes, but ${from} says ${d.size}`)
          }
          return file
        })
      const walk = (d: Descriptor, from: string): Effect.Effect<void, ArchiveError | Failure> =>
        Effect.gen(function* () {
          const file = yield* check(d, from)
          if (described.has(d.digest)) return
          described.set(d.digest, d)
          if (!MediaType.isIndex(d.mediaType) && !MediaType.isManifest(d.mediaType)) return
          const bytes = yield* layout.blobs.get(file.digest, { size: file.size })
          const { value } = yield* decodeJsonFile(
            LooseManifest,
            `${archive}: blobs/${file.digest.replace(":", "/")}`,
            bytes
          )
          const here = `the manifest ${d.digest}`
          for (const child of [
            ...(value.manifests ?? []),
            ...(value.config ? [value.config] : []),
            ...(value.layers ?? []),
            ...(value.blobs ?? [])
          ]) {
            yield* walk(child, here)
          }
        })
      for (const entry of index.manifests) {
        yield* walk(entry, "index.json")
        images.push({ descriptor: withoutNames(entry), names: namesOf(entry) })
      }
    } else if (manifestBytes !== undefined) {
      const decoded = yield* Effect.either(decodeJsonFile(DockerManifest, `${archive}: manifest.json`, manifestBytes))
      if (Either.isLeft(decoded)) {
        const error = decoded.left
        return yield* refuse(
          "manifest.json",
          "not-docker",
          `it is not docker's manifest.json (a list of {Config, RepoTags, Layers}): ${error.issues[0]?.message ?? error.detail}`
        )
      }
      for (const [i, item] of decoded.right.value.entries()) {
        const configPath = normalize(item.Config)
        if (configPath === undefined)
          return yield* refuse("manifest.json", "unsafe-path", `[${i}].Config is ${quote(item.Config)}`)
        const config = yield* resolve(configPath, item.Config)
        const layers: Array<Descriptor> = []
        for (const layer of item.Layers) {
          const layerPath = normalize(layer)
          if (layerPath === undefined)
            return yield* refuse("manifest.json", "unsafe-path", `a layer is ${quote(layer)}`)
          const file = yield* resolve(layerPath, layer)
          const descriptor: Descriptor = {
            mediaType: file.gzip ? MediaType.ociLayerTarGzip : MediaType.ociLayerTar,
            digest: file.digest,
            size: file.size
          }
          described.set(file.digest, descriptor)
          layers.push(descriptor)
        }
        const configDescriptor: Descriptor = {
          mediaType: MediaType.ociConfig,
          digest: config.digest,
          size: config.size
        }
        described.set(config.digest, configDescriptor)
        const configBytes = yield* layout.blobs.get(config.digest, { size: config.size })
        const platform = yield* Effect.option(decodeJsonFile(ConfigPlatform, `${archive}: ${item.Config}`, configBytes))
        const manifest = new TextEncoder().encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociManifest,
            config: configDescriptor,
            layers
          })
        )
        const info = yield* layout.blobs.put(manifest)
        const names: Array<NameOrTag> = []
        for (const repoTag of item.RepoTags ?? []) {
          const named = Reference.name(repoTag)
          if (Either.isLeft(named)) {
            return yield* refuse("manifest.json", "not-docker", `the RepoTag ${quote(repoTag)} is not an image name`)
          }
          names.push(named.right)
        }
        const found = Option.getOrUndefined(platform)?.value
        const manifestDescriptor: Descriptor = {
          mediaType: MediaType.ociManifest,
          digest: info.digest,
          size: info.size
        }
        if (!described.has(info.digest)) {
          described.set(info.digest, manifestDescriptor)
          copied.push(manifestDescriptor)
          bytes += info.size
        }
        images.push({
          descriptor: {
            mediaType: MediaType.ociManifest,
            digest: info.digest,
            size: info.size,
            ...(found === undefined
              ? {}
              : {
                  platform: {
                    os: found.os,
                    architecture: found.architecture,
                    ...(found.variant === undefined ? {} : { variant: found.variant })
                  }
                })
          },
          names
        })
      }
    } else {
      return yield* refuse("", "malformed", "it holds neither index.json nor manifest.json: it is not an image archive")
    }

    let chosen: ReadonlyArray<Image> = images
    if (options.select !== undefined) {
      const want = options.select
      chosen = images.filter(
        (image) =>
          image.descriptor.digest === want ||
          image.names.some((name) =>
            Reference.match(name, {
              Tag: (t) => t.refName === want,
              Name: (n) => n.imageName === want || n.refName === want
            })
          )
      )
      if (chosen.length === 0) {
        return yield* new ImageNotFound({
          location: archive,
          reason: "no-entry",
          detail: `no image in the archive is named ${quote(want)}.`
        })
      }
      chosen = chosen.slice(0, 1)
    }
    if (options.tags !== undefined && options.tags.length > 0) {
      const [only] = chosen
      if (chosen.length !== 1 || only === undefined) {
        return yield* new ImageNotFound({
          location: archive,
          reason: "ambiguous",
          detail: `the archive holds ${chosen.length} images: name the one to tag.`
        })
      }
      chosen = [{ descriptor: only.descriptor, names: options.tags }]
    }
    yield* prepare
    yield* layout.index.putAll(chosen.map((image) => ({ descriptor: image.descriptor, names: image.names })))
    const describe = (d: Descriptor) => described.get(d.digest) ?? d
    return { images: chosen, copied: copied.map(describe), skipped: skipped.map(describe), bytes }
  })

/** @internal */
export type Format = "oci" | "docker"

const refNameKey = "org.opencontainers.image.ref.name"
const containerdNameKey = "io.containerd.image.name"

/** One file of an archive to write: a blob of the layout, or a document made for the archive. @internal */
export interface Part {
  readonly name: string
  readonly size: number
  readonly content:
    | { readonly _tag: "Blob"; readonly digest: Digest.Digest }
    | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
}

/** What an archive of a layout holds, found and checked before its first byte is written. @internal */
export interface Plan {
  readonly entries: ReadonlyArray<Descriptor>
  readonly blobs: ReadonlyArray<Descriptor>
  /** The archive's files in order: blobs sorted by path, then the documents. */
  readonly parts: ReadonlyArray<Part>
}

/**
 * The archive of `references` in `layout` (every entry when none is named), as a stream: see `plan`.
 * @internal
 */
export const write = (
  layout: Layout,
  label: string,
  references: ReadonlyArray<string>,
  format: Format
): Effect.Effect<
  {
    readonly entries: ReadonlyArray<Descriptor>
    readonly blobs: ReadonlyArray<Descriptor>
    readonly archive: Stream.Stream<Uint8Array, Failure>
  },
  Failure
> =>
  Effect.map(plan(layout, label, references, format), (planned) => ({
    entries: planned.entries,
    blobs: planned.blobs,
    archive: pack(layout, planned)
  }))

/** The bytes of a planned archive, each blob read from the layout (and verified) when the consumer reaches it. @internal */
export const pack = (layout: Layout, planned: Plan): Stream.Stream<Uint8Array, Failure> =>
  Tar.pack(
    Stream.fromIterable(
      planned.parts.map(
        (part): Tar.OutEntry<Failure> => ({
          name: part.name,
          size: part.size,
          body:
            part.content._tag === "Bytes"
              ? Stream.make(part.content.bytes)
              : layout.blobs.stream(part.content.digest, { size: part.size })
        })
      )
    )
  )

/**
 * The files of an archive of `references` in `layout` (every entry when none is named): blobs sorted by path,
 * then `index.json`, (`manifest.json` for docker), then `oci-layout`; fixed headers. Everything is resolved
 * and checked before the first byte is produced.
 * @internal
 */
export const plan = (
  layout: Layout,
  label: string,
  references: ReadonlyArray<string>,
  format: Format
): Effect.Effect<Plan, Failure> =>
  Effect.gen(function* () {
    const all = yield* layout.index.list
    const entries: Array<Descriptor> = []
    if (references.length === 0) entries.push(...all)
    for (const reference of references) {
      const found = yield* layout.index.get(reference)
      if (Option.isNone(found)) {
        return yield* new ImageNotFound({
          location: label,
          reason: "no-entry",
          detail: `no entry is named ${quote(reference)}.`
        })
      }
      if (!entries.includes(found.value)) entries.push(found.value)
    }
    if (entries.length === 0) {
      return yield* new ImageNotFound({ location: label, reason: "ambiguous", detail: "the layout holds no entries." })
    }
    const blobs = new Map<string, Descriptor>()
    const manifests = new Map<
      string,
      {
        readonly config: Descriptor | undefined
        readonly layers: ReadonlyArray<Descriptor>
        readonly children: ReadonlyArray<Descriptor>
      }
    >()
    const walk = (d: Descriptor): Effect.Effect<void, Failure> =>
      Effect.gen(function* () {
        if (blobs.has(d.digest)) return
        const stat = yield* layout.blobs.stat(d.digest)
        if (Option.isNone(stat)) {
          return yield* new ImageNotFound({
            location: label,
            reason: "no-entry",
            detail: `the blob ${d.digest} is missing from the layout; run ocidx verify.`
          })
        }
        blobs.set(d.digest, d)
        if (!MediaType.isIndex(d.mediaType) && !MediaType.isManifest(d.mediaType)) return
        const bytes = yield* layout.blobs.get(d.digest, { size: d.size })
        const { value } = yield* decodeJsonFile(LooseManifest, layout.blobs.pathOf(d.digest), bytes)
        const config = value.config
        const layers = value.layers ?? []
        const children = value.manifests ?? []
        const others = value.blobs ?? []
        manifests.set(d.digest, { config, layers, children })
        for (const child of [...children, ...(config ? [config] : []), ...layers, ...others]) yield* walk(child)
      })
    for (const entry of entries) yield* walk(entry)

    const pathOf = (digest: Digest.Digest) => `blobs/${Digest.algorithm(digest)}/${Digest.encoded(digest)}`
    const sorted = [...blobs.values()].sort((a, b) => (pathOf(a.digest) < pathOf(b.digest) ? -1 : 1))
    const encoder = new TextEncoder()
    const index = encoder.encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries })
    )
    const documents: Array<{ readonly name: string; readonly bytes: Uint8Array }> = [
      { name: "index.json", bytes: index }
    ]
    if (format === "docker") {
      const items: Array<{ Config: string; RepoTags: Array<string>; Layers: Array<string> }> = []
      const named = new Set<string>()
      const add = (d: Descriptor, repoTag: string | undefined) => {
        const manifest = manifests.get(d.digest)
        if (manifest === undefined || manifest.config === undefined || !MediaType.isManifest(d.mediaType)) return false
        if (manifest.config.mediaType !== MediaType.ociConfig && manifest.config.mediaType !== MediaType.dockerConfig)
          return false
        const tags = repoTag !== undefined && !named.has(repoTag) ? [repoTag] : []
        for (const t of tags) named.add(t)
        items.push({
          Config: pathOf(manifest.config.digest),
          RepoTags: tags,
          Layers: manifest.layers.map((l) => pathOf(l.digest))
        })
        return true
      }
      for (const entry of entries) {
        const imageName = entry.annotations?.[containerdNameKey]
        const refName = entry.annotations?.[refNameKey]
        // docker load wants repository:tag; a bare tag names nothing it could load under.
        const repoTag = imageName ?? (refName?.includes(":") ? refName : undefined)
        if (add(entry, repoTag)) continue
        // An index: each image manifest it lists (attestations have no image config), the name on the first.
        let first = true
        for (const child of manifests.get(entry.digest)?.children ?? []) {
          if (child.platform?.os === "unknown") continue
          if (add(child, first ? repoTag : undefined)) first = false
        }
      }
      documents.push({ name: "manifest.json", bytes: encoder.encode(JSON.stringify(items)) })
    }
    documents.push({ name: "oci-layout", bytes: encoder.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })) })
    const parts: Array<Part> = [
      ...sorted.map(
        (d): Part => ({ name: pathOf(d.digest), size: d.size, content: { _tag: "Blob", digest: d.digest } })
      ),
      ...documents.map(
        (doc): Part => ({ name: doc.name, size: doc.bytes.length, content: { _tag: "Bytes", bytes: doc.bytes } })
      )
    ]
    return { entries, blobs: sorted, parts }
  })
