/**
 * verify, phase 5: what else lies under `blobs/`: ocidx temp files, files that are not blobs, and blobs that
 * nothing reachable references; and the temp files of killed index.json and oci-layout writers in the root.
 * @internal
 */
import type { FileSystem, Path } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { isTempFile } from "../../BlobStore.js"
import * as Digest from "../../Digest.js"
import type { Finding } from "../../Layout.js"
import type { LayoutFiles, RemoveResult } from "../../LayoutFiles.js"
import { isRootTempFile } from "../gc.js"
import { isNotFound } from "../platformError.js"
import { linkTarget } from "../regularFile.js"
import { finding } from "./finding.js"

/** @internal */
export const check = (
  fs: FileSystem.FileSystem,
  files: LayoutFiles,
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
    const inBlobs = yield* checkBlobs(fs, files, path, blobsDir, graph)
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
  files: LayoutFiles,
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
      return isTempFile(entry)
        ? Effect.succeed([tempFile(entryPath)])
        : checkEntry(fs, files, path, entryPath, entry, graph)
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
  files: LayoutFiles,
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
    // Only what is reported needs its path: nearly every name is a reachable blob's.
    const reported: Array<{ readonly file: string; readonly digest: Option.Option<Digest.Digest> }> = []
    // A reachable digest was parsed already: looked up by its text first, only the rest is parsed.
    const known: Option.Option<ReadonlyMap<string, unknown>> = graph.reachable
    for (const name of [...names.right].sort()) {
      const text = `${algorithm}:${name}`
      if (Option.isSome(known) && known.value.has(text)) continue
      const digest = Digest.parse(text)
      const unreferenced =
        Option.isSome(digest) && Option.isSome(graph.reachable) && !graph.reachable.value.has(digest.value)
      if (Option.isNone(digest) || unreferenced) reported.push({ file: path.join(entryPath, name), digest })
    }
    const kinds = yield* kindsOf(
      files,
      reported.filter((entry) => Option.isSome(entry.digest)).map((entry) => entry.file)
    )
    const findings: Array<Finding> = []
    for (const { digest, file } of reported) {
      if (Option.isNone(digest)) {
        findings.push(stray(file, `the name is not a valid ${algorithm} digest`))
        continue
      }
      const found = unreferencedFinding(file, digest.value, kinds.get(file), graph.incomplete)
      if (found !== undefined) findings.push(found)
    }
    return findings
  })

/** What to say of a file named by a digest nothing reachable references, by what gc would make of it. */
const unreferencedFinding = (
  file: string,
  digest: Digest.Digest,
  kind: RemoveResult | undefined,
  incomplete: boolean
): Finding | undefined => {
  // Gone since the listing (a gc, say): nothing to report.
  if (kind?._tag === "Missing") return undefined
  if (kind?._tag === "Refused") {
    return stray(
      file,
      kind.reason === "symlink"
        ? "a symbolic link where a blob would be"
        : "a directory or other non-regular file where a blob would be"
    )
  }
  return finding(
    "info",
    "blob-unreferenced",
    incomplete
      ? `${file} is not referenced by anything ocidx could read (some manifests could not be read, so it may be theirs)`
      : `${file} is not referenced from index.json; gc removes it`,
    { path: file, digest }
  )
}

/** How many files one `removeFiles` check takes: each batch is one platform step. */
const checkBatch = 512

/**
 * What gc would make of each unreferenced file, asked as gc asks (a dry run of `removeFiles`, one step per
 * batch, not a stat per file), so "gc removes it" is said only of what gc would remove. A batch whose check
 * fails leaves its files unknown: reported as unreferenced, as the rest.
 */
const kindsOf = (files: LayoutFiles, unreferenced: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const kinds = new Map<string, RemoveResult>()
    for (let start = 0; start < unreferenced.length; start += checkBatch) {
      const batch = unreferenced.slice(start, start + checkBatch)
      const results = yield* files
        .removeFiles(batch, { olderThan: Number.POSITIVE_INFINITY, dryRun: true })
        .pipe(Effect.orElseSucceed((): ReadonlyArray<RemoveResult> => []))
      for (const [i, result] of results.entries()) {
        const file = batch[i]
        if (file !== undefined) kinds.set(file, result)
      }
    }
    return kinds
  })
