/**
 * The copy engine: resolve the root at the source, narrow it to the platforms asked for, walk the graph
 * (manifests are read once each and kept: they are small), then move blobs in parallel, manifests children
 * first, and commit the destination's tag last.
 * @internal
 */
import type { FileSystem, Path } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Failure, Location, Options, Result } from "../../Copy.js"
import { Descriptor } from "../../Descriptor.js"
import type { Digest } from "../../Digest.js"
import { ImageNotFound } from "../../Errors.js"
import { Hasher } from "../../Hasher.js"
import { ImageManifest } from "../../ImageManifest.js"
import { NestedIndex } from "../../ImageIndex.js"
import type { IndexLock } from "../../IndexLock.js"
import * as Layout from "../../Layout.js"
import * as MediaType from "../../MediaType.js"
import * as Platform from "../../Platform.js"
import { RegistryClient } from "../../RegistryClient.js"
import { decodeJsonFile } from "../decode.js"
import * as JsonReader from "../jsonReader.js"
import * as Walk from "../walk.js"
import type { ContentOptions, Fetched, ImageDestination, ImageSource } from "./image.js"
import * as LayoutTransport from "./layout.js"
import { LooseManifest } from "./looseManifest.js"
import { formatLocation } from "./location.js"
import * as RegistryTransport from "./registry.js"

/** What a manifest references: manifests (read in turn) and blobs. */
interface Node {
  readonly fetched: Fetched
  readonly manifests: ReadonlyArray<Descriptor>
  readonly blobs: ReadonlyArray<Descriptor>
  /** The decoded index, for platform narrowing. */
  readonly index: NestedIndex | undefined
  /** The document as parsed, to write a narrowed index that keeps every other field. */
  readonly raw: unknown
}

type Services = FileSystem.FileSystem | Path.Path | IndexLock | Hasher | RegistryClient

const openLayout = (directory: string) => Layout.make({ directory })

const openSource = (
  location: Exclude<Location, { readonly _tag: "Archive" }>
): Effect.Effect<ImageSource, never, Services> => {
  const label = formatLocation(location)
  return location._tag === "Layout"
    ? Effect.map(openLayout(location.directory), (layout) =>
        LayoutTransport.source(layout, `oci:${location.directory}`, location.reference)
      )
    : Effect.map(RegistryClient, (client) => RegistryTransport.source(client, label, location.reference))
}

const openDestination = (
  location: Exclude<Location, { readonly _tag: "Archive" }>
): Effect.Effect<ImageDestination, never, Services> => {
  const label = formatLocation(location)
  return location._tag === "Layout"
    ? Effect.map(openLayout(location.directory), (layout) =>
        LayoutTransport.destination(layout, label, location.reference)
      )
    : Effect.map(RegistryClient, (client) => RegistryTransport.destination(client, label, location.reference))
}

const decode = (label: string, fetched: Fetched, referrers: boolean): Effect.Effect<Node, Failure> =>
  Effect.gen(function* () {
    const { descriptor, bytes } = fetched
    const source = `${label}@${descriptor.digest}`
    const subject = (found: Descriptor | undefined) => (referrers && found !== undefined ? [found] : [])
    if (MediaType.isIndex(descriptor.mediaType)) {
      const { value, raw } = yield* decodeJsonFile(NestedIndex, source, bytes)
      return { fetched, manifests: [...value.manifests, ...subject(value.subject)], blobs: [], index: value, raw }
    }
    if (MediaType.isManifest(descriptor.mediaType)) {
      const { value, raw } = yield* decodeJsonFile(ImageManifest, source, bytes)
      return {
        fetched,
        manifests: subject(value.subject),
        blobs: [value.config, ...value.layers],
        index: undefined,
        raw
      }
    }
    // A manifest of a type ocidx does not model (an artifact manifest, say) is read for what it plainly names.
    const loose = yield* Effect.either(decodeJsonFile(LooseManifest, source, bytes))
    if (loose._tag === "Left") return { fetched, manifests: [], blobs: [], index: undefined, raw: undefined }
    const value = loose.right.value
    return {
      fetched,
      manifests: [...(value.manifests ?? []), ...subject(value.subject)],
      blobs: [...(value.config ? [value.config] : []), ...(value.layers ?? []), ...(value.blobs ?? [])],
      index: undefined,
      raw: loose.right.raw
    }
  })

const sha256 = (bytes: Uint8Array) =>
  Effect.flatMap(Hasher, (hasher) => {
    const hash = hasher.make("sha256")
    hash.update(bytes)
    return Effect.map(hash.digest, (hex) => `sha256:${hex}`)
  })

const ConfigPlatform = Schema.Struct({
  os: Schema.String,
  architecture: Schema.String,
  variant: Schema.optional(Schema.String)
})

/** The platform an image's config names, when the config is an image config that says. */
const configPlatform = (source: ImageSource, root: Node): Effect.Effect<Platform.Platform | undefined, Failure> => {
  const [config] = root.blobs
  if (
    !MediaType.isManifest(root.fetched.descriptor.mediaType) ||
    config === undefined ||
    (config.mediaType !== MediaType.ociConfig && config.mediaType !== MediaType.dockerConfig) ||
    config.size > JsonReader.maxDocumentBytes
  ) {
    return Effect.succeed(undefined)
  }
  return Effect.gen(function* () {
    const chunks = yield* Stream.runCollect(source.blob(config))
    const bytes = new Uint8Array(config.size)
    let at = 0
    for (const chunk of chunks) {
      bytes.set(chunk.subarray(0, Math.max(0, config.size - at)), at)
      at += chunk.length
    }
    const decoded = yield* Effect.either(decodeJsonFile(ConfigPlatform, `${source.label}@${config.digest}`, bytes))
    return decoded._tag === "Right" ? decoded.right.value : undefined
  })
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The root narrowed to `platforms`: one platform is that manifest; several are a new index of just those
 * (every other field of the original kept), which names only manifests that will be copied.
 */
const narrow = (
  source: ImageSource,
  root: Node,
  platforms: ReadonlyArray<Platform.PlatformSelector>
): Effect.Effect<{ readonly roots: ReadonlyArray<Descriptor>; readonly made: Fetched | undefined }, Failure, Hasher> =>
  Effect.gen(function* () {
    const label = source.label
    const index = root.index
    if (platforms.length === 0) return { roots: [root.fetched.descriptor], made: undefined }
    if (index === undefined) {
      // One image: it is what arrives, unless it says it is for another platform (as `docker pull` checks).
      const platform = root.fetched.descriptor.platform ?? (yield* configPlatform(source, root))
      if (platform !== undefined && !platforms.some((selector) => Platform.matches(platform, selector))) {
        return yield* new ImageNotFound({
          location: label,
          reason: "no-platform",
          detail: `the image ${root.fetched.descriptor.digest} is for ${Platform.format(platform)}, not ${platforms.map(Platform.format).join(", ")}.`
        })
      }
      return { roots: [root.fetched.descriptor], made: undefined }
    }
    const chosen = new Set<Digest>()
    for (const selector of platforms) {
      const found = index.manifests.find(
        (entry) => entry.platform !== undefined && Platform.matches(entry.platform, selector)
      )
      if (found === undefined) {
        const offered = index.manifests.flatMap((entry) => (entry.platform ? [Platform.format(entry.platform)] : []))
        return yield* new ImageNotFound({
          location: label,
          reason: "no-platform",
          detail: `the index ${root.fetched.descriptor.digest} has no manifest for ${Platform.format(selector)}${offered.length === 0 ? "" : ` (it has ${[...new Set(offered)].join(", ")})`}.`
        })
      }
      chosen.add(found.digest)
    }
    const selected = index.manifests.filter((entry) => chosen.has(entry.digest))
    const [first] = selected
    if (platforms.length === 1 && first !== undefined) return { roots: [first], made: undefined }
    const document = isRecord(root.raw) ? root.raw : {}
    const bytes = new TextEncoder().encode(JSON.stringify({ ...document, manifests: selected }))
    const digest = yield* sha256(bytes)
    const descriptor = yield* Schema.decodeUnknown(Descriptor)({
      mediaType: root.fetched.descriptor.mediaType,
      digest,
      size: bytes.length
    }).pipe(Effect.orDie)
    return { roots: selected, made: { descriptor, bytes } }
  })

/** @internal */
export const copy = (
  sourceLocation: Location,
  destinationLocation: Location,
  options: Options = {}
): Effect.Effect<Result, Failure, Services> =>
  Effect.gen(function* () {
    const jobs = Math.max(1, Math.floor(options.jobs ?? 4))
    const referrers = options.referrers === true
    const dryRun = options.dryRun === true
    const report = options.onProgress ?? (() => Effect.void)
    if (sourceLocation._tag === "Archive" || destinationLocation._tag === "Archive") {
      // Loaded on first use: a program that never moves an archive never loads the tar library.
      const archives = yield* Effect.promise(() => import("./archiveCopy.js"))
      return yield* archives.copy(sourceLocation, destinationLocation, options)
    }
    const source = yield* openSource(sourceLocation)
    const destination = yield* openDestination(destinationLocation)

    const nodes = new Map<Digest, Node>()
    const remember = (fetched: Fetched) =>
      Effect.tap(decode(source.label, fetched, referrers), (node) =>
        Effect.sync(() => nodes.set(fetched.descriptor.digest, node))
      )

    const { fetched: rootFetched, names } = yield* source.root
    const rootNode = yield* remember(rootFetched)
    const { roots, made } = yield* narrow(source, rootNode, options.platforms ?? [])
    const finalDescriptor = made?.descriptor ?? roots[0] ?? rootFetched.descriptor
    yield* destination.check(finalDescriptor)

    // Walk: everything an index lists is a manifest (read in turn, whatever its type); the rest are blobs.
    const isManifest = new Set<Digest>(roots.map((root) => root.digest))
    const content = (descriptor: Descriptor): Effect.Effect<Layout.Content, Failure> =>
      Effect.gen(function* () {
        if (!nodes.has(descriptor.digest)) {
          yield* remember({ descriptor, bytes: yield* source.manifest(descriptor) })
        }
        return { _tag: "Other", descriptor } as const
      })
    const children = (found: Layout.Content): ReadonlyArray<Descriptor> => {
      const node = nodes.get(found.descriptor.digest)
      if (node === undefined) return []
      for (const manifest of node.manifests) isManifest.add(manifest.digest)
      return [...node.manifests, ...node.blobs]
    }
    const walk = (from: ReadonlyArray<Descriptor>) =>
      Walk.reachable(from, content, (_, error) => Effect.fail(error), {
        indexPath: source.label,
        onGraphError: (error) => Effect.fail(error),
        concurrency: jobs,
        children,
        hasChildren: (descriptor) => isManifest.has(descriptor.digest)
      })
    const reached = yield* walk(roots)
    const final: Fetched = made ?? {
      descriptor: finalDescriptor,
      bytes: nodes.get(finalDescriptor.digest)?.fetched.bytes ?? rootFetched.bytes
    }

    const referrerRoots: Array<Descriptor> = []
    if (referrers) {
      const subjects = [
        ...(made ? [made.descriptor] : []),
        ...[...reached.values()].filter((d) => isManifest.has(d.digest))
      ]
      const found = yield* Effect.forEach(subjects, (subject) => source.referrers(subject), { concurrency: jobs })
      for (const descriptor of found.flat()) {
        if (reached.has(descriptor.digest) || referrerRoots.some((known) => known.digest === descriptor.digest))
          continue
        referrerRoots.push(descriptor)
        isManifest.add(descriptor.digest)
      }
      for (const [digest, descriptor] of yield* walk(referrerRoots))
        if (!reached.has(digest)) reached.set(digest, descriptor)
    }

    // Manifests children first: a depth-first post-order over what the walk read (it refused cycles).
    const manifestOrder: Array<Fetched> = []
    const placed = new Set<Digest>()
    const place = (descriptor: Descriptor) => {
      const stack: Array<{ readonly node: Node; next: number }> = []
      const enter = (digest: Digest) => {
        const node = nodes.get(digest)
        if (node === undefined || placed.has(digest)) return
        placed.add(digest)
        stack.push({ node, next: 0 })
      }
      enter(descriptor.digest)
      while (stack.length > 0) {
        const top = stack[stack.length - 1]
        if (top === undefined) break
        const child = top.node.manifests[top.next]
        if (child === undefined) {
          stack.pop()
          manifestOrder.push({
            descriptor: reached.get(top.node.fetched.descriptor.digest) ?? top.node.fetched.descriptor,
            bytes: top.node.fetched.bytes
          })
          continue
        }
        top.next++
        enter(child.digest)
      }
    }
    for (const root of [...roots, ...referrerRoots]) place(root)
    const blobs = [...reached.values()].filter((descriptor) => !isManifest.has(descriptor.digest))
    const manifests = made
      ? [...manifestOrder.filter((m) => m.descriptor.digest !== made.descriptor.digest), made]
      : manifestOrder

    if (dryRun) {
      const present = yield* Effect.forEach(blobs, (blob) => destination.has(blob, "blob"), { concurrency: jobs })
      const presentManifests = yield* Effect.forEach(manifests, (m) => destination.has(m.descriptor, "manifest"), {
        concurrency: jobs
      })
      const copied = [
        ...blobs.filter((_, i) => !present[i]),
        ...manifests.filter((_, i) => !presentManifests[i]).map((m) => m.descriptor)
      ]
      const skipped = [
        ...blobs.filter((_, i) => present[i]),
        ...manifests.filter((_, i) => presentManifests[i]).map((m) => m.descriptor)
      ]
      return { manifest: final.descriptor, copied, skipped, bytes: copied.reduce((sum, d) => sum + d.size, 0) }
    }

    yield* destination.prepare
    const mountFrom =
      source.repository !== undefined &&
      destination.repository !== undefined &&
      source.repository.registry === destination.repository.registry &&
      source.repository.repository !== destination.repository.repository
        ? source.repository.repository
        : undefined
    // A destination that verifies what it writes takes the bytes unhashed: every blob is still verified
    // while it streams, once.
    const unverified = destination.verifiesBlobs === true ? source.unverifiedBlob : undefined
    const blobOf = (descriptor: Descriptor, options?: ContentOptions) =>
      unverified === undefined ? source.blob(descriptor, options) : unverified.stream(descriptor)
    const moveBlob = (descriptor: Descriptor) =>
      Effect.gen(function* () {
        yield* report({ _tag: "Started", descriptor })
        let done = 0
        // Progress once per chunk of buffers, and no step at all when nobody listens.
        const content = (contentOptions?: ContentOptions) =>
          options.onProgress === undefined
            ? blobOf(descriptor, contentOptions)
            : blobOf(descriptor, contentOptions).pipe(
                Stream.mapChunksEffect((chunk) => {
                  for (const buffer of chunk) done += buffer.length
                  return Effect.as(report({ _tag: "Bytes", descriptor, done }), chunk)
                })
              )
        const outcome = yield* destination
          .putBlob(descriptor, content, mountFrom)
          .pipe(
            Effect.catchTag("DigestMismatch", (error) =>
              Effect.fail(unverified === undefined ? error : unverified.mismatch(descriptor, error))
            )
          )
        yield* report({ _tag: "Finished", descriptor, outcome: outcome === "present" ? "skipped" : outcome })
        return outcome
      })
    const blobOutcomes = yield* Effect.forEach(blobs, moveBlob, { concurrency: jobs })
    const manifestOutcomes: Array<boolean> = []
    for (const manifest of manifests) {
      const present = yield* destination.has(manifest.descriptor, "manifest")
      if (!present) yield* destination.putManifest(manifest)
      manifestOutcomes.push(present)
    }
    yield* destination.commit(final, names, referrerRoots)

    const copied = [
      ...blobs.filter((_, i) => blobOutcomes[i] !== "present"),
      ...manifests.filter((_, i) => !manifestOutcomes[i]).map((m) => m.descriptor)
    ]
    const skipped = [
      ...blobs.filter((_, i) => blobOutcomes[i] === "present"),
      ...manifests.filter((_, i) => manifestOutcomes[i]).map((m) => m.descriptor)
    ]
    const bytes =
      blobs.reduce((sum, blob, i) => sum + (blobOutcomes[i] === "copied" ? blob.size : 0), 0) +
      manifests.reduce((sum, m, i) => sum + (manifestOutcomes[i] ? 0 : m.descriptor.size), 0)
    return { manifest: final.descriptor, copied, skipped, bytes }
  }).pipe(Effect.withSpan("Copy.copy"))
