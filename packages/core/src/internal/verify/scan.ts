/**
 * verify, phase 5: what else lies under `blobs/`: ocidx temp files, files that are not blobs, and blobs that
 * nothing reachable references; and the temp files of killed index.json and oci-layout writers in the root.
 * @internal
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { isTempFile } from "../../BlobStore.js"
import * as Digest from "../../Digest.js"
import type { Finding } from "../../Layout.js"
import { isRootTempFile } from "../gc.js"
import { isNotFound } from "../platformError.js"
import { linkTarget } from "../regularFile.js"
import { finding } from "./finding.js"

/** @internal */
export const check = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  blobsDir: string,
  graph: {
    /** Every reachable digest; None when index.json could not be read, so nothing is known to be unreferenced. */
    readonly reachable: Option.Option<ReadonlyMap<Digest.Digest, unknown>>
    readonly incomplete: boolean
  }
): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    const inRoot = yield* rootTemps(fs, path, path.dirname(blobsDir))
    const inBlobs = yield* checkBlobs(fs, path, blobsDir, graph)
    return [...inRoot, ...inBlobs]
  })

const tempFile = (file: string) =>
  finding(
    "info",
    "temp-file",
    `${file} is an ocidx temp file: a write in progress or one that was interrupted; gc removes it once it is older than the grace period (an hour by default)`,
    { path: file }
  )

/** ocidx's own temp files beside index.json and oci-layout; a root that cannot be listed is left to other phases. */
const rootTemps = (fs: FileSystem.FileSystem, path: Path.Path, directory: string) =>
  fs.readDirectory(directory).pipe(
    Effect.map((names) =>
      [...names]
        .filter(isRootTempFile)
        .sort()
        .map((name) => tempFile(path.join(directory, name)))
    ),
    Effect.orElseSucceed((): ReadonlyArray<Finding> => [])
  )

const checkBlobs = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  blobsDir: string,
  graph: { readonly reachable: Option.Option<ReadonlyMap<Digest.Digest, unknown>>; readonly incomplete: boolean }
): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    // Listing through a link would judge files outside the layout as its blobs (and gc would delete them).
    const blobsLink = yield* linkTarget(fs, blobsDir)
    if (Option.isSome(blobsLink)) return [linked(blobsDir, blobsLink.value)]
    const listing = yield* Effect.either(fs.readDirectory(blobsDir))
    if (Either.isLeft(listing)) {
      return isNotFound(listing.left)
        ? [
            finding(
              "warning",
              "blobs-missing",
              `${blobsDir} is missing; a layout must have it, even empty; init creates it.`,
              { path: blobsDir }
            )
          ]
        : [unreadable(blobsDir, listing.left.message)]
    }
    const perEntry = yield* Effect.forEach([...listing.right].sort(), (entry) => {
      const entryPath = path.join(blobsDir, entry)
      return isTempFile(entry) ? Effect.succeed([tempFile(entryPath)]) : checkEntry(fs, path, entryPath, entry, graph)
    })
    return perEntry.flat()
  })

const unreadable = (file: string, why: string) =>
  finding("error", "blobs-unreadable", `cannot read ${file}: ${why}`, { path: file })

const linked = (directory: string, target: string) =>
  finding(
    "error",
    "blobs-symlink",
    `${directory} is a symbolic link (to ${target}); ocidx never follows links inside a layout, and gc and blob writes refuse it`,
    { path: directory }
  )

const stray = (file: string, why: string) =>
  finding("warning", "stray-file", `${file}: ${why}; ocidx leaves it alone (gc never removes it)`, { path: file })

/** One entry of `blobs/`: an algorithm directory, whose files must be named by their digest. */
const checkEntry = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  entryPath: string,
  algorithm: string,
  graph: { readonly reachable: Option.Option<ReadonlyMap<Digest.Digest, unknown>>; readonly incomplete: boolean }
): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    const link = yield* linkTarget(fs, entryPath)
    if (Option.isSome(link)) return [linked(entryPath, link.value)]
    const info = yield* Effect.either(fs.stat(entryPath))
    if (Either.isLeft(info)) return isNotFound(info.left) ? [] : [unreadable(entryPath, info.left.message)]
    if (info.right.type !== "Directory") return [stray(entryPath, "not a blob (blobs live in blobs/<algorithm>/)")]
    const names = yield* Effect.either(fs.readDirectory(entryPath))
    if (Either.isLeft(names)) return [unreadable(entryPath, names.left.message)]
    const perFile = yield* Effect.forEach([...names.right].sort(), (name) =>
      Effect.gen(function* () {
        const file = path.join(entryPath, name)
        const digest = Digest.parse(`${algorithm}:${name}`)
        if (Option.isNone(digest)) return [stray(file, `the name is not a valid ${algorithm} digest`)]
        if (Option.isNone(graph.reachable) || graph.reachable.value.has(digest.value)) return []
        const kind = yield* Effect.either(fs.stat(file))
        if (Either.isRight(kind) && kind.right.type === "Directory") {
          return [stray(file, "a directory where a blob would be")]
        }
        return [
          finding(
            "info",
            "blob-unreferenced",
            graph.incomplete
              ? `${file} is not referenced by anything ocidx could read (some manifests could not be read, so it may be theirs)`
              : `${file} is not referenced from index.json; gc removes it`,
            { path: file, digest: digest.value }
          )
        ]
      })
    )
    return perFile.flat()
  })
