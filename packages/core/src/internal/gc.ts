/**
 * Garbage collection: under the exclusive index lock, mark everything reachable from index.json and remove
 * the blob files nothing references. Only files named by a valid digest, and ocidx's own temp files (under
 * `blobs/` and beside index.json), are ever removed, and only once older than the grace period: a blob is
 * put before the tag that references it, and a gc between the two must not take it. A dry run takes the
 * shared lock only, so it works on a read-only layout.
 * @internal
 */
import type { FileSystem, Path } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BlobStore } from "../BlobStore.js"
import { isTempFile } from "../BlobStore.js"
import type { Descriptor } from "../Descriptor.js"
import * as Digest from "../Digest.js"
import { DecodeError, DecodeIssue, ReadError, UnreadableManifest } from "../Errors.js"
import type { ImageIndex } from "../ImageIndex.js"
import type { Content, ContentFailure, GcOptions, GcReport } from "../Layout.js"
import type { LayoutFiles } from "../LayoutFiles.js"
import type { IndexSource } from "../StoreIndex.js"
import { isTempNameFor } from "./atomicWrite.js"
import { isNotFound } from "./platformError.js"
import { refuseLinkedDirectory } from "./regularFile.js"
import type * as StoreIndex from "./storeIndex.js"
import * as Walk from "./walk.js"

/** What gc and verify need from the layout. @internal */
export interface Deps {
  readonly directory: string
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly files: LayoutFiles
  readonly index: StoreIndex.Internal
  readonly blobs: BlobStore
  readonly content: (descriptor: Descriptor) => Effect.Effect<Content, ContentFailure>
  /** `content` of a batch at once, for a walk of many manifests. */
  readonly contents: Walk.BatchReader<ContentFailure>
}

const defaultGrace = Duration.hours(1)

/** The files ocidx replaces atomically in the layout root: their temp files are written beside them. */
const rootFiles = ["index.json", "oci-layout"] as const

/** An ocidx temp file in the layout root, e.g. `.index.json.<token>.ocidx-tmp` left by a killed put. @internal */
export const isRootTempFile = (name: string): boolean => rootFiles.some((file) => isTempNameFor(file, name))

/** A blank index.json reads as empty; sweeping by it would delete every blob. @internal */
export const blankIndex = (path: string): DecodeError => {
  const message =
    "it is blank (0 bytes or whitespace only, as a crashed writer leaves it), so every blob would look unreferenced; gc removed nothing"
  return new DecodeError({ path, reason: "blank", detail: message, issues: [new DecodeIssue({ path: [], message })] })
}

interface Considered {
  readonly file: string
  readonly name: string
  readonly digest: Option.Option<string>
}

/** How many files one removal step takes: progress moves per batch. */
const removeBatch = 512

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

/**
 * gc's sweep of a given index: what `run` does under the lock it takes. Prune's dry run sweeps the index it
 * would write, to report what gc would then collect.
 * @internal
 */
export const sweeper = (deps: Deps, options: GcOptions) => {
  const { fs, path } = deps
  const blobsDir = path.join(deps.directory, "blobs")
  const graceMillis = Duration.toMillis(Duration.decode(options.grace ?? defaultGrace))
  const dryRun = options.dryRun ?? false

  const statOf = (file: string) =>
    fs.stat(file).pipe(
      Effect.map(Option.some),
      // Gone already (another gc, or a writer's rename): nothing to do.
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError(ReadError.fromPlatformError(file))
    )

  /** Files that may go: ocidx's temp files, and blobs named by a digest nothing references. */
  const collect = (live: ReadonlyMap<Digest.Digest, Descriptor>) =>
    Effect.gen(function* () {
      const considered: Array<Considered> = []
      for (const name of yield* listDirectory(fs, deps.directory)) {
        if (isRootTempFile(name)) {
          considered.push({ file: path.join(deps.directory, name), name, digest: Option.none() })
        }
      }
      // A linked blobs/ or blobs/<alg> would have gc delete files wherever the link points: refused, whole.
      yield* refuseLinkedDirectory(fs, blobsDir)
      for (const entry of yield* listDirectory(fs, blobsDir)) {
        const entryPath = path.join(blobsDir, entry)
        if (isTempFile(entry)) {
          considered.push({ file: entryPath, name: entry, digest: Option.none() })
          continue
        }
        yield* refuseLinkedDirectory(fs, entryPath)
        const info = yield* statOf(entryPath)
        if (Option.isNone(info) || info.value.type !== "Directory") continue
        for (const name of yield* listDirectory(fs, entryPath)) {
          const digest = Digest.parse(`${entry}:${name}`)
          if (!isTempFile(name) && (Option.isNone(digest) || live.has(digest.value))) continue
          considered.push({ file: path.join(entryPath, name), name, digest })
        }
      }
      return considered
    })

  /**
   * Removes (or, in a dry run, checks) the considered files old enough to go, a batch at a time, each batch
   * one platform step. A link, a directory or anything else not a regular file stays, as does a young file.
   */
  const remove = (considered: ReadonlyArray<Considered>, olderThan: number) =>
    Effect.gen(function* () {
      const removed: Array<Candidate> = []
      for (let start = 0; start < considered.length; start += removeBatch) {
        const batch = considered.slice(start, start + removeBatch)
        const results = yield* deps.files.removeFiles(
          batch.map(({ file }) => file),
          { olderThan, dryRun }
        )
        for (const [i, result] of results.entries()) {
          const entry = batch[i]
          if (entry === undefined || result._tag !== "Removed") continue
          removed.push({
            path: entry.file,
            digest: Option.getOrElse(entry.digest, () => entry.name),
            size: result.size
          })
        }
        if (options.onProgress) yield* options.onProgress(start + batch.length, considered.length)
      }
      return removed
    })

  const sweep = (current: ImageIndex, source: IndexSource) =>
    Effect.gen(function* () {
      // A missing index.json reads as empty, which would make every blob garbage.
      if (source.kind === "missing") {
        return yield* new ReadError({ path: deps.index.indexPath, reason: "not-found" })
      }
      // So would a blank one, but that may be a deliberate reset only the caller can vouch for.
      if (source.kind === "blank" && !options.force) return yield* blankIndex(deps.index.indexPath)
      // Refused before any manifest is read through it, so the error names the link, forced or not.
      yield* refuseLinkedDirectory(fs, blobsDir)
      for (const entry of yield* listDirectory(fs, blobsDir))
        yield* refuseLinkedDirectory(fs, path.join(blobsDir, entry))
      const roots = current.subject ? [...current.manifests, current.subject] : current.manifests
      // With force, an unreadable manifest stays (it is reachable) but its children are unknown and may go.
      const live = yield* Walk.reachable(
        roots,
        deps.contents,
        (descriptor, error) =>
          options.force
            ? Effect.void
            : Effect.fail(
                new UnreadableManifest({
                  path: deps.blobs.pathOf(descriptor.digest),
                  digest: descriptor.digest,
                  operation: "gc",
                  cause: error
                })
              ),
        {
          indexPath: deps.index.indexPath,
          // Too deep, what lies below the limit is unknown, as for an unreadable manifest. A claimed cycle
          // leaves the set whole, so it does not stop a sweep (verify reports it).
          onGraphError: (error) => (error.reason === "too-deep" && !options.force ? Effect.fail(error) : Effect.void)
        }
      )
      // File mtimes come from the real clock, so age is measured against it, not Effect's (test) Clock.
      const olderThan = Date.now() - graceMillis
      // A failing removal stops gc with the blobs after it still there.
      const candidates = yield* remove(yield* collect(live), olderThan)
      const report: GcReport = {
        removed: candidates,
        bytes: candidates.reduce((sum, candidate) => sum + candidate.size, 0),
        dryRun
      }
      return report
    })

  return sweep
}

/** @internal */
export const run = (deps: Deps, options: GcOptions) => {
  const sweep = sweeper(deps, options)
  // A dry run removes nothing, so the shared lock is enough: it then sees one index, and runs where the
  // exclusive lock cannot be taken (a read-only layout).
  return options.dryRun
    ? deps.index.inspect(sweep)
    : deps.index.modify((current, source) => Effect.map(sweep(current, source), (report) => [report, current] as const))
}
