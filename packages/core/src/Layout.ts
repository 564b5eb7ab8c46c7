/**
 * A whole image layout: its index and the blobs the index reaches. Creates layouts, resolves names to
 * manifests (descending multi-platform indexes), checks a layout's integrity (`verify`), removes what
 * nothing references (`gc`) and removes entries by policy (`prune`).
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Duration, Effect, Option } from "effect"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import type { BlobStore } from "./BlobStore.js"
import type { Descriptor } from "./Descriptor.js"
import type { Digest } from "./Digest.js"
import type { BlobNotFound, DecodeError, DigestMismatch, GraphError, ReadError, UnreadableManifest } from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import type { ImageManifest } from "./ImageManifest.js"
import type { NestedIndex } from "./ImageIndex.js"
import type { IndexLock } from "./IndexLock.js"
import * as internalDirectory from "./internal/directory.js"
import * as internal from "./internal/layout.js"
import type { PlatformSelector } from "./Platform.js"
import type { EntrySize, PruneOptions, PruneReport } from "./Prune.js"
import type { ReadFailure, StoreIndex, WriteFailure } from "./StoreIndex.js"

/**
 * @since 0.1.0
 * @category model
 */
export type Severity = "error" | "warning" | "info"

/**
 * What a finding is about: a stable identifier that scripts match on (`verify --json` prints it), so a code is
 * never renamed. Listed in the order verify checks: `oci-layout`, `index.json`, the graph of manifests and
 * indexes, the blobs' digests and sizes, then what else lies under `blobs/`.
 *
 * @since 0.1.0
 * @category model
 */
export const FindingCode = Schema.Literal(
  /** `oci-layout` does not exist (error). */
  "layout-missing",
  /** `oci-layout` exists but cannot be read (error). */
  "layout-unreadable",
  /** `oci-layout` is not valid JSON, or not an `{"imageLayoutVersion": ...}` object (error). */
  "layout-invalid",
  /** `oci-layout` names an `imageLayoutVersion` other than the one ocidx understands, 1.0.0 (error). */
  "layout-version",
  /** `index.json` does not exist (error); nothing is then called unreferenced. */
  "index-missing",
  /** `index.json` cannot be read: permission, not a regular file, an I/O error (error). */
  "index-unreadable",
  /** `index.json` is not valid UTF-8 or JSON, or breaks the image-index schema (error). */
  "index-invalid",
  /** The index lock was not taken in time, so `index.json` was not read (error). */
  "index-locked",
  /** `index.json` is an empty file, which ocidx and buildkit read as an empty index (warning). */
  "index-empty",
  /** `index.json` starts with a UTF-8 byte-order mark: ocidx reads it (and drops it on its next write), Go tools refuse it (warning). */
  "index-bom",
  /** A JSON object in `index.json` or in a manifest or index blob repeats a key (error). */
  "duplicate-key",
  /** An entry's `org.opencontainers.image.ref.name` is outside the ref-name grammar (warning). */
  "ref-name-invalid",
  /** A reachable manifest or nested index is not valid UTF-8 or JSON, or breaks its schema; its blobs are unchecked (error). */
  "manifest-invalid",
  /** Nested indexes or manifests claim a cycle, possible only when a blob's content does not match its digest (error). */
  "index-cycle",
  /** Manifests and indexes nest deeper than `Errors.maxGraphDepth` (64) levels below index.json; deeper blobs are unchecked (error). */
  "index-too-deep",
  /** A referenced blob is not in `blobs/` (warning, as the spec allows; error with `strict`). */
  "blob-missing",
  /** A referenced blob is a symbolic link, which ocidx never follows inside a layout (error). */
  "blob-symlink",
  /** A referenced blob's path is not a regular file (error). */
  "blob-not-file",
  /** A referenced blob cannot be read: permission or an I/O error (error). */
  "blob-unreadable",
  /** A blob's content hashes to another digest than its name: it is corrupt (error). */
  "blob-digest-mismatch",
  /** A blob's size differs from the size a descriptor gives for it (error). */
  "blob-size-mismatch",
  /** A blob's digest algorithm is one ocidx cannot compute, so only its size was checked (info). */
  "blob-unverifiable",
  /** A descriptor's embedded `data` is not the content it describes: bad base64, size or digest (error). */
  "data-mismatch",
  /** `blobs/` does not exist; a layout must have it, even empty (warning). */
  "blobs-missing",
  /** `blobs/` or an entry in it cannot be listed or inspected (error). */
  "blobs-unreadable",
  /** `blobs/` or `blobs/<alg>` is a symbolic link: ocidx never follows it; gc and blob writes refuse (error). */
  "blobs-symlink",
  /** A file under `blobs/` that is not a blob; gc leaves it alone (warning). */
  "stray-file",
  /** An ocidx temp file under `blobs/` or beside index.json: a write in progress, or one that was interrupted (info). */
  "temp-file",
  /** A blob nothing reachable from `index.json` references; gc removes it (info). */
  "blob-unreferenced"
).annotations({ identifier: "FindingCode" })

/**
 * @since 0.1.0
 * @category model
 */
export type FindingCode = typeof FindingCode.Type

/**
 * One thing `verify` found.
 *
 * @since 0.1.0
 * @category model
 */
export interface Finding {
  readonly severity: Severity
  /** A stable identifier a script can match on, e.g. `blob-digest-mismatch`. */
  readonly code: FindingCode
  readonly message: string
  readonly path?: string | undefined
  readonly digest?: string | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface VerifyReport {
  /** No finding of severity "error". */
  readonly ok: boolean
  readonly findings: ReadonlyArray<Finding>
  readonly blobsChecked: number
  readonly bytesChecked: number
}

/**
 * @since 0.1.0
 * @category model
 */
export interface VerifyOptions {
  /** Referenced blobs that are missing become errors instead of warnings. */
  readonly strict?: boolean | undefined
  /**
   * Accepted and ignored: nothing verify does is concurrent any more. Manifests are read and hashed a batch
   * at a time by `LayoutFiles.readRegularFiles`, blobs a batch at a time by `LayoutFiles.hashBlobs`, which
   * bounds its own reads (the Node one hashes each batch in one synchronous run). The report never depended on it.
   */
  readonly concurrency?: number | undefined
  /** Called as blobs are checked, for progress display. */
  readonly onProgress?: ((done: number, total: number) => Effect.Effect<void>) | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface GcOptions {
  /** Report what would be removed, remove nothing. */
  readonly dryRun?: boolean | undefined
  /**
   * Go on when a reachable manifest cannot be read (its children may then be deleted), or when index.json is
   * blank (0 bytes or whitespace only; every blob is then deleted).
   */
  readonly force?: boolean | undefined
  /**
   * Unreferenced blobs and ocidx temp files whose mtime is younger than this are kept: a blob is put before
   * the tag that references it, and a temp file may belong to a writer still at work. Default one hour.
   */
  readonly grace?: Duration.DurationInput | undefined
  readonly onProgress?: ((done: number, total: number) => Effect.Effect<void>) | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface GcReport {
  readonly removed: ReadonlyArray<{ readonly digest: string; readonly size: number; readonly path: string }>
  readonly bytes: number
  readonly dryRun: boolean
}

/**
 * A decoded manifest or nested index.
 *
 * @since 0.1.0
 * @category model
 */
export type Content =
  | { readonly _tag: "Index"; readonly descriptor: Descriptor; readonly index: NestedIndex }
  | { readonly _tag: "Manifest"; readonly descriptor: Descriptor; readonly manifest: ImageManifest }
  | { readonly _tag: "Other"; readonly descriptor: Descriptor }

/**
 * What reading a reachable manifest can fail with.
 *
 * @since 0.1.0
 * @category error
 */
export type ContentFailure = BlobNotFound | ReadError | DigestMismatch | DecodeError

/**
 * @since 0.1.0
 * @category model
 */
export interface Layout {
  readonly directory: string
  readonly index: StoreIndex
  readonly blobs: BlobStore
  /** Creates the directory, `blobs/`, `oci-layout` and an empty `index.json` where missing. Idempotent. */
  readonly init: Effect.Effect<void, WriteFailure>
  /** Reads and decodes the manifest or nested index a descriptor points at (by media type). */
  readonly content: (descriptor: Descriptor) => Effect.Effect<Content, ContentFailure>
  /**
   * The entry `x` names (as `StoreIndex.get`); with a platform, descends nested indexes to the first
   * manifest for it. `None` when nothing matches.
   */
  readonly resolve: (
    x: string,
    options?: { readonly platform?: PlatformSelector | undefined }
  ) => Effect.Effect<Option.Option<Descriptor>, ReadFailure | ContentFailure | GraphError>
  /**
   * Descends from `descriptor` (an entry already found) through nested indexes to the first manifest for
   * `platform`. A `GraphError` when the indexes on the way repeat a digest ("cycle") or nest more than
   * `Errors.maxGraphDepth` deep ("too-deep").
   */
  readonly descend: (
    descriptor: Descriptor,
    platform: PlatformSelector
  ) => Effect.Effect<Option.Option<Descriptor>, ContentFailure | GraphError>
  /**
   * Every descriptor reachable from index.json: nested indexes, manifests, configs, layers, subjects. A
   * `GraphError` ("too-deep") when content nests deeper than `Errors.maxGraphDepth`; a claimed cycle is
   * not an error here (the set is whole), `verify` reports it.
   */
  readonly reachable: Effect.Effect<ReadonlyMap<Digest, Descriptor>, ReadFailure | UnreadableManifest | GraphError>
  /** Checks the layout and reports; never changes anything. */
  readonly verify: (options?: VerifyOptions) => Effect.Effect<VerifyReport>
  /** Removes blobs nothing reachable references, under the exclusive index lock. */
  readonly gc: (options?: GcOptions) => Effect.Effect<GcReport, WriteFailure | UnreadableManifest | GraphError>
  /**
   * Removes the index entries `Prune.select` chooses, from the index read under the exclusive lock, then
   * collects what became unreachable as `gc` does (with its grace period). A dry run takes the shared lock
   * and changes nothing. See the `Prune` module for how the rules combine.
   */
  readonly prune: (options: PruneOptions) => Effect.Effect<PruneReport, WriteFailure | UnreadableManifest | GraphError>
  /** Each entry's total and unique size (see `Prune.EntrySize`), in index order, read under the shared lock. */
  readonly sizes: Effect.Effect<ReadonlyArray<EntrySize>, ReadFailure | UnreadableManifest | GraphError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Layout: Context.Tag<Layout, Layout> = Context.GenericTag<Layout>("@ocidx/core/Layout")

/**
 * The layout at `directory`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (options: {
  readonly directory: string
}) => Effect.Effect<Layout, never, FileSystem.FileSystem | Path.Path | IndexLock | Hasher> = internal.make

/**
 * Fails with a `ReadError` unless `directory` exists and is a directory: "not-found" when it is missing,
 * "not-a-file" when it is something else. `StoreIndex` checks this before each read and write; `BlobStore`
 * does not (writing a blob creates `blobs/` and its parents), so a program that writes blobs first checks here.
 *
 * @since 0.1.0
 * @category validation
 */
export const requireDirectory: (directory: string) => Effect.Effect<void, ReadError, FileSystem.FileSystem> =
  internalDirectory.requireDirectory
