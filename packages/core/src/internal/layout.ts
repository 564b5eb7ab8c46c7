/** @internal */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as BlobStore from "../BlobStore.js"
import { checkedBytes } from "./blobStore.js"
import type { Descriptor } from "../Descriptor.js"
import { GraphError, maxGraphDepth, UnreadableManifest, WriteError } from "../Errors.js"
import { Hasher } from "../Hasher.js"
import type { IndexLock } from "../IndexLock.js"
import type { Content, ContentFailure, Layout } from "../Layout.js"
import * as MediaType from "../MediaType.js"
import { matches } from "../Platform.js"
import * as InternalStoreIndex from "./storeIndex.js"
import { decodeManifest, decodeNestedIndex } from "./decodeContent.js"
import * as Gc from "./gc.js"
import * as Prune from "./prune/run.js"
import * as JsonReader from "./jsonReader.js"
import * as LayoutFiles from "./layoutFiles.js"
import * as Verify from "./verify.js"
import { refuseLinkedDirectory } from "./regularFile.js"
import * as Walk from "./walk.js"

/** @internal */
export const make = (options: {
  readonly directory: string
}): Effect.Effect<Layout, never, FileSystem.FileSystem | Path.Path | IndexLock | Hasher> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const index = yield* InternalStoreIndex.make(options)
    const blobs = yield* BlobStore.make(options)
    const directory = options.directory
    const hasher = yield* Hasher
    const files = yield* LayoutFiles.current
    // verify hashes descriptors' embedded data itself, so it needs the Hasher too.
    const context = Context.make(FileSystem.FileSystem, fs).pipe(
      Context.add(Path.Path, path),
      Context.add(Hasher, hasher)
    )

    /** A manifest or index to read, what else needs no read, or one too large to read. */
    const planOf = (descriptor: Descriptor): Either.Either<Content, ContentFailure> | "read" => {
      if (!MediaType.isIndex(descriptor.mediaType) && !MediaType.isManifest(descriptor.mediaType)) {
        return Either.right({ _tag: "Other", descriptor })
      }
      // Refused before a byte is read: the read below takes at most the descriptor's size (and one byte more).
      if (descriptor.size > JsonReader.maxDocumentBytes) {
        const file = blobs.pathOf(descriptor.digest)
        return Either.left(JsonReader.tooLarge(file, descriptor.size, JsonReader.maxDocumentBytes, "the manifest"))
      }
      return "read"
    }

    /** The checked bytes of a manifest or index, decoded. */
    const decodeContent = (
      descriptor: Descriptor,
      file: string,
      bytes: Uint8Array
    ): Either.Either<Content, ContentFailure> =>
      Either.flatMap(JsonReader.readJson(file, bytes), ({ value: raw }) =>
        MediaType.isIndex(descriptor.mediaType)
          ? Either.map(
              decodeNestedIndex(file, raw),
              (decoded): Content => ({ _tag: "Index", descriptor, index: decoded })
            )
          : Either.map(decodeManifest(file, raw), (manifest): Content => ({ _tag: "Manifest", descriptor, manifest }))
      )

    const content = (descriptor: Descriptor): Effect.Effect<Content, ContentFailure> => {
      const plan = planOf(descriptor)
      if (plan !== "read") return plan
      const file = blobs.pathOf(descriptor.digest)
      return Effect.flatMap(blobs.get(descriptor.digest, { size: descriptor.size }), (bytes) =>
        decodeContent(descriptor, file, bytes)
      )
    }

    /**
     * `content` of many descriptors, their files read in one `LayoutFiles` call and checked as `BlobStore.get`
     * checks them; each result the same success or failure `content` has.
     */
    const contents: Walk.BatchReader<ContentFailure> = {
      batch: (descriptors) => {
        const plans = descriptors.map(planOf)
        const toRead = descriptors.filter((_, i) => plans[i] === "read")
        return Effect.flatMap(
          files.readRegularFiles(
            toRead.map((descriptor) => ({ path: blobs.pathOf(descriptor.digest), maxBytes: descriptor.size }))
          ),
          (reads) => {
            let next = 0
            return Effect.forEach(descriptors, (descriptor, i) => {
              const plan = plans[i]
              if (plan !== undefined && plan !== "read") return Effect.succeed(plan)
              const read = reads[next++]
              if (read === undefined) return Effect.die(new Error("a batch read has fewer results than files"))
              const file = blobs.pathOf(descriptor.digest)
              return Effect.either(
                Effect.flatMap(read, (found) =>
                  Effect.flatMap(checkedBytes(hasher, file, descriptor.digest, descriptor.size, found), (bytes) =>
                    decodeContent(descriptor, file, bytes)
                  )
                )
              )
            })
          }
        )
      }
    }

    const roots = (manifests: ReadonlyArray<Descriptor>, subject: Descriptor | undefined) =>
      subject ? [...manifests, subject] : manifests

    const reachableFrom = (manifests: ReadonlyArray<Descriptor>, subject: Descriptor | undefined) =>
      Walk.reachable(
        roots(manifests, subject),
        content,
        (descriptor, error) =>
          Effect.fail(
            new UnreadableManifest({
              path: blobs.pathOf(descriptor.digest),
              digest: descriptor.digest,
              operation: "reachable",
              cause: error
            })
          ),
        {
          indexPath: index.indexPath,
          // Too deep, the set misses what lies below; a claimed cycle adds nothing, so the set is whole.
          onGraphError: (error) => (error.reason === "too-deep" ? Effect.fail(error) : Effect.void)
        }
      )

    const reachable = Effect.flatMap(index.read, (read) => reachableFrom(read.manifests, read.subject))

    // One path down, so its own cycle and depth checks: the digests from the entry, each read once.
    const descend: Layout["descend"] = (descriptor, platform) =>
      Effect.gen(function* () {
        if (descriptor.platform !== undefined && !MediaType.isIndex(descriptor.mediaType)) {
          return matches(descriptor.platform, platform) ? Option.some(descriptor) : Option.none()
        }
        // The indexes read so far; `current` is level `chain.length + 1` below index.json, as the walk counts.
        const chain: Array<Descriptor["digest"]> = []
        let current = descriptor
        for (;;) {
          const cycle = chain.includes(current.digest)
          if (cycle || chain.length >= maxGraphDepth) {
            return yield* new GraphError({
              path: index.indexPath,
              reason: cycle ? "cycle" : "too-deep",
              digests: [...chain, current.digest]
            })
          }
          if (!MediaType.isIndex(current.mediaType)) return Option.some(current)
          chain.push(current.digest)
          const decoded = yield* content(current)
          if (decoded._tag !== "Index") return Option.some(current)
          const found = decoded.index.manifests.find(
            (entry) => entry.platform !== undefined && matches(entry.platform, platform)
          )
          if (!found) return Option.none()
          current = found
        }
      })

    const resolve: Layout["resolve"] = (x, resolveOptions) =>
      Effect.flatMap(index.get(x), (entry) => {
        const platform = resolveOptions?.platform
        if (Option.isNone(entry) || platform === undefined) return Effect.succeed(entry)
        return descend(entry.value, platform)
      })

    /** `directory` and those of its parents that do not exist, innermost first. */
    const missingDirectories = (start: string) =>
      Effect.gen(function* () {
        const missing: Array<string> = []
        let current = start
        while (!(yield* fs.exists(current).pipe(Effect.orElseSucceed(() => true)))) {
          missing.push(current)
          const parent = path.dirname(current)
          if (parent === current) break
          current = parent
        }
        return missing
      })

    /** Removes directories init made, innermost first, each only while still empty: nobody else's work goes. */
    const removeIfEmpty = (directories: ReadonlyArray<string>) =>
      Effect.forEach(directories, (made) =>
        fs.readDirectory(made).pipe(
          Effect.flatMap((entries) => (entries.length === 0 ? fs.remove(made, { recursive: true }) : Effect.void)),
          Effect.ignore
        )
      )

    const init = Effect.gen(function* () {
      const blobsDir = path.join(directory, "blobs")
      // blobs/ is never created, nor a layout set up, through a link.
      yield* refuseLinkedDirectory(fs, blobsDir)
      // A failed init removes the directories it made (the index store removes the lock file it made), so
      // that "nothing on disk was changed" holds on a full disk too.
      const made = yield* missingDirectories(blobsDir)
      yield* fs.makeDirectory(blobsDir, { recursive: true }).pipe(
        Effect.mapError(WriteError.fromPlatformError(blobsDir)),
        Effect.zipRight(index.init),
        Effect.onError(() => removeIfEmpty(made))
      )
    }).pipe(Effect.withSpan("Layout.init", { attributes: { directory } }))

    const deps: Gc.Deps = { directory, fs, path, files, index, blobs, content, contents }

    const layout: Layout = {
      directory,
      index,
      blobs,
      init,
      content,
      resolve,
      descend,
      reachable,
      verify: (verifyOptions) => Verify.run(deps, verifyOptions ?? {}).pipe(Effect.provide(context)),
      gc: (gcOptions) => Gc.run(deps, gcOptions ?? {}).pipe(Effect.provide(context)),
      prune: (pruneOptions) => Prune.run(deps, pruneOptions).pipe(Effect.provide(context)),
      sizes: Prune.sizes(deps).pipe(Effect.provide(context))
    }
    return layout
  })
