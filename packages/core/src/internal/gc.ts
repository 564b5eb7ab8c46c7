/**
 * Garbage collection: under the exclusive index lock, mark everything reachable from index.json and remove
 * the blob files nothing references. Only files named by a valid digest, and ocidx's own stale temp files,
 * are ever removed; nothing outside `blobs/` is touched.
 * @internal
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import type { BlobStore } from "../BlobStore.js"
import { isTempFile } from "../BlobStore.js"
import type { Descriptor } from "../Descriptor.js"
import * as Digest from "../Digest.js"
import { ReadError, UnreadableManifest, WriteError } from "../Errors.js"
import type { Content, ContentFailure, GcOptions, GcReport } from "../Layout.js"
import type { StoreIndex } from "../StoreIndex.js"
import { isNotFound } from "./platformError.js"
import * as Walk from "./walk.js"

/** What gc and verify need from the layout. @internal */
export interface Deps {
  readonly directory: string
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly index: StoreIndex
  readonly blobs: BlobStore
  readonly content: (descriptor: Descriptor) => Effect.Effect<Content, ContentFailure>
}

const hour = 60 * 60 * 1000

/** How many manifest reads and stats gc keeps in flight: they wait on the disk, not the CPU. */
const ioConcurrency = 8

interface Candidate {
  readonly path: string
  readonly digest: string
  readonly size: number
}

/** The entries of a directory, or none when it does not exist. @internal */
export const listDirectory = (fs: FileSystem.FileSystem, directory: string) =>
  fs.readDirectory(directory).pipe(
    Effect.catchIf(isNotFound, () => Effect.succeed<ReadonlyArray<string>>([])),
    Effect.mapError(ReadError.fromPlatformError(directory))
  )

/** @internal */
export const run = (deps: Deps, options: GcOptions) => {
  const { fs, path } = deps
  const blobsDir = path.join(deps.directory, "blobs")
  const tempMaxAge = options.tempMaxAgeMillis ?? hour
  const dryRun = options.dryRun ?? false

  const statOf = (file: string) =>
    fs.stat(file).pipe(
      Effect.map(Option.some),
      // Gone already (another gc, or a writer's rename): nothing to do.
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError(ReadError.fromPlatformError(file))
    )

  const collect = (live: ReadonlyMap<Digest.Digest, Descriptor>, now: number) =>
    Effect.gen(function* () {
      // Only files that may go are stat'ed: temp files, and blobs named by a digest nothing references.
      const considered: Array<{
        readonly file: string
        readonly name: string
        readonly digest: Option.Option<string>
      }> = []
      for (const entry of yield* listDirectory(fs, blobsDir)) {
        const entryPath = path.join(blobsDir, entry)
        if (isTempFile(entry)) {
          considered.push({ file: entryPath, name: entry, digest: Option.none() })
          continue
        }
        const info = yield* statOf(entryPath)
        if (Option.isNone(info) || info.value.type !== "Directory") continue
        for (const name of yield* listDirectory(fs, entryPath)) {
          const digest = Digest.parse(`${entry}:${name}`)
          if (!isTempFile(name) && (Option.isNone(digest) || live.has(digest.value))) continue
          considered.push({ file: path.join(entryPath, name), name, digest })
        }
      }
      const candidates = yield* Effect.forEach(
        considered,
        ({ digest, file, name }) =>
          Effect.map(statOf(file), (info): Option.Option<Candidate> => {
            if (Option.isNone(info) || info.value.type === "Directory") return Option.none()
            if (isTempFile(name)) {
              const mtime = Option.getOrElse(info.value.mtime, () => new Date(now)).getTime()
              if (now - mtime < tempMaxAge) return Option.none()
            }
            return Option.some({
              path: file,
              digest: Option.getOrElse(digest, () => name),
              size: Number(info.value.size)
            })
          }),
        { concurrency: ioConcurrency }
      )
      return candidates.flatMap((candidate) => (Option.isSome(candidate) ? [candidate.value] : []))
    })

  return deps.index.modify((current) =>
    Effect.gen(function* () {
      // A missing index.json reads as empty, which would make every blob garbage.
      const indexExists = yield* fs
        .exists(deps.index.indexPath)
        .pipe(Effect.mapError(ReadError.fromPlatformError(deps.index.indexPath)))
      if (!indexExists) return yield* new ReadError({ path: deps.index.indexPath, reason: "not-found" })
      const roots = current.subject ? [...current.manifests, current.subject] : current.manifests
      // With force, an unreadable manifest stays (it is reachable) but its children are unknown and may go.
      const live = yield* Walk.reachable(
        roots,
        deps.content,
        (descriptor, error) =>
          options.force
            ? Effect.void
            : Effect.fail(
                new UnreadableManifest({
                  path: deps.blobs.pathOf(descriptor.digest),
                  digest: descriptor.digest,
                  cause: error
                })
              ),
        { concurrency: ioConcurrency }
      )
      // File mtimes come from the real clock, so age is measured against it, not Effect's (test) Clock.
      const now = Date.now()
      const candidates = yield* collect(live, now)
      let done = 0
      // One at a time: a failing removal stops gc with the blobs after it still there.
      for (const candidate of candidates) {
        if (!dryRun) {
          yield* fs.remove(candidate.path).pipe(
            Effect.catchIf(isNotFound, () => Effect.void),
            Effect.mapError(WriteError.fromPlatformError(candidate.path))
          )
        }
        done++
        if (options.onProgress) yield* options.onProgress(done, candidates.length)
      }
      const report: GcReport = {
        removed: candidates,
        bytes: candidates.reduce((sum, candidate) => sum + candidate.size, 0),
        dryRun
      }
      return [report, current] as const
    })
  )
}
