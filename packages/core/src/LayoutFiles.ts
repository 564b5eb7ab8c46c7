/**
 * The small-file steps ocidx repeats for every file of a layout, each as one call the platform can make
 * cheaply: replace a file atomically, read a regular file if it exists (or a batch of them), hash a batch of
 * blobs, remove a batch of files. Core's own implementation (`make`, `layer`) runs on `@effect/platform`'s `FileSystem`, so it works
 * on the in-memory file system of `@ocidx/core/testing`; `@ocidx/node` supplies one that does each call as a
 * single synchronous step, without a thread-pool round trip per system call. Every implementation refuses
 * symbolic links and non-regular files the same way (docs/guarantees.md, "Link policy").
 *
 * Providing the service is optional: where none is provided, ocidx uses `make` on the `FileSystem` at hand.
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Context, Effect, Either, Layer, Option } from "effect"
import type { Algorithm, Digest } from "./Digest.js"
import type { ReadError, WriteError } from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import * as internal from "./internal/layoutFiles.js"

/**
 * What `readRegularFile` found: nothing, a file over the size limit (not read), or the file's bytes. From
 * `readRegularFiles`, a file asked with `hash` carries `hex`, the lowercase hex digest of exactly `bytes`.
 *
 * @since 0.1.0
 * @category model
 */
export type ReadResult =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "TooLarge"; readonly size: number }
  | { readonly _tag: "Read"; readonly bytes: Uint8Array; readonly hex?: string | undefined }

/**
 * One file of `readRegularFiles`: its path and the most bytes to read, as `readRegularFile` takes them, and
 * the hash to compute over the bytes read, if any (verify checks each manifest's digest this way: the hash
 * is part of the read, not a step of its own).
 *
 * @since 0.1.0
 * @category model
 */
export interface FileToRead {
  readonly path: string
  readonly maxBytes: number
  readonly hash?: Algorithm | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface WriteOptions {
  /** What the target held (None: it did not exist), put back when the final directory fsync fails. */
  readonly previous: Option.Option<Uint8Array>
  /** The mode of a new file; a replaced file keeps its own. Default 0644, whatever the umask. */
  readonly defaultMode?: number | undefined
}

/**
 * One blob to hash: its file and the digest it should have.
 *
 * @since 0.1.0
 * @category model
 */
export interface BlobToHash {
  readonly path: string
  readonly digest: Digest
}

/**
 * What hashing one blob found. `Ok` means the digest matched, or names an algorithm ocidx cannot compute
 * (`Digest.isAlgorithm` is false), in which case only the size was read. `Failed` holds a `ReadError`:
 * "symlink" and "not-a-file" for what is refused unopened, or why the read failed.
 *
 * @since 0.1.0
 * @category model
 */
export type HashResult =
  | { readonly _tag: "Ok"; readonly size: number }
  | { readonly _tag: "Mismatch"; readonly size: number; readonly actualDigest: string }
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Failed"; readonly error: ReadError }

/**
 * @since 0.1.0
 * @category model
 */
export interface RemoveOptions {
  /** Files modified after this time (epoch milliseconds) are kept, as `Young`. */
  readonly olderThan: number
  /** Check each file as for a removal, and remove nothing. */
  readonly dryRun: boolean
}

/**
 * What became of one file of `removeFiles`: removed (or, in a dry run, would be), already gone, too young, or
 * refused because it is a symbolic link or not a regular file (a link is never followed, so nothing outside
 * the layout is touched; a directory or a FIFO is not a blob).
 *
 * @since 0.1.0
 * @category model
 */
export type RemoveResult =
  | { readonly _tag: "Removed"; readonly size: number }
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Young" }
  | { readonly _tag: "Refused"; readonly reason: "symlink" | "not-a-file" }

/**
 * @since 0.1.0
 * @category model
 */
export interface IngestOptions {
  /** The hash to compute over the content copied. */
  readonly algorithm: Algorithm
  /**
   * Told the number of bytes written so far, after each large step (a chunk of a MiB or more): cheap enough to
   * call from the copy loop, so it runs synchronously and must not throw.
   */
  readonly onProgress?: ((written: number) => void) | undefined
}

/**
 * What `ingestFile` copied: its size and the lowercase hex digest of exactly the bytes written.
 *
 * @since 0.1.0
 * @category model
 */
export interface Ingested {
  readonly size: number
  readonly hex: string
}

/**
 * @since 0.1.0
 * @category model
 */
export interface LayoutFiles {
  /**
   * A regular file's bytes. A symbolic link fails with a `ReadError` "symlink", anything else that is not a
   * regular file (a directory, a FIFO, a device) with "not-a-file", without blocking on it; a file over
   * `maxBytes` is `TooLarge`, unread; one that grows while read yields at most `maxBytes + 1` bytes.
   */
  readonly readRegularFile: (file: string, maxBytes: number) => Effect.Effect<ReadResult, ReadError>
  /**
   * Fails unless `directory` is an existing directory (a link to one counts), as `Layout.requireDirectory`
   * does: a `ReadError` naming it, "not-found" when it is missing, "not-a-file" when it is something else.
   * Every index change checks its layout directory first, so this is one call, not a round trip.
   */
  readonly requireDirectory: (directory: string) => Effect.Effect<void, ReadError>
  /**
   * `readRegularFile` for each file, in order, as one call: one file's failure is its result (a `Left`), the
   * same `ReadError` `readRegularFile` fails with, not the batch's. Every result is in memory at once, so the
   * caller bounds the batch (the walk reads a level a few dozen manifests at a time). A file asked with
   * `hash` that is `Read` has `hex` set (an implementation must compute it); one asked without has none.
   */
  readonly readRegularFiles: (
    files: ReadonlyArray<FileToRead>
  ) => Effect.Effect<ReadonlyArray<Either.Either<ReadResult, ReadError>>>
  /**
   * Replaces `target` so that a crash at any instant leaves the old content or the new: a temp file beside it
   * (named by `tempPathFor`, created exclusively), write, fsync, rename, directory fsync. With
   * `CurrentDurability` "none" the fsyncs are skipped. A failure leaves no temp file and no change behind.
   */
  readonly writeAtomic: (target: string, content: Uint8Array, options: WriteOptions) => Effect.Effect<void, WriteError>
  /**
   * Copies the regular file `source` into the new file `temp` (created exclusively, mode 0644 less the umask),
   * hashing the bytes as they are written, and fsyncs it (with `CurrentDurability` "none", not). The source is
   * refused as `readRegularFile` refuses a file (a `ReadError` "symlink", or "not-a-file" without blocking on a
   * FIFO), and a missing one is a `ReadError` "not-found", all before `temp` is created; a failed read is a
   * `ReadError` naming `source`, a failed write or fsync a `WriteError` naming `temp`. A failure or an
   * interruption removes `temp`; once this succeeds, `temp` is the caller's to rename or remove. Name it with
   * `tempPathFor`, so that gc and verify recognise a leftover.
   */
  readonly ingestFile: (
    source: string,
    temp: string,
    options: IngestOptions
  ) => Effect.Effect<Ingested, ReadError | WriteError>
  /** Hashes each blob to its end, in order; one blob's failure is its result, not the batch's. */
  readonly hashBlobs: (blobs: ReadonlyArray<BlobToHash>) => Effect.Effect<ReadonlyArray<HashResult>>
  /**
   * Removes each regular file older than `olderThan`, in order, one result per file. A removal that fails
   * stops the batch with a `WriteError` (a check that fails, with a `ReadError`); the files before it are gone.
   */
  readonly removeFiles: (
    files: ReadonlyArray<string>,
    options: RemoveOptions
  ) => Effect.Effect<ReadonlyArray<RemoveResult>, ReadError | WriteError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const LayoutFiles: Context.Tag<LayoutFiles, LayoutFiles> = internal.LayoutFiles

/**
 * The implementation on `@effect/platform`'s `FileSystem`. `FileSystem` has no `O_NOFOLLOW` or `O_NONBLOCK`
 * open, so each file is checked with a readLink and a stat just before it is opened.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: Effect.Effect<LayoutFiles, never, FileSystem.FileSystem | Path.Path | Hasher> = internal.make

/**
 * @since 0.1.0
 * @category layer
 */
export const layer: Layer.Layer<LayoutFiles, never, FileSystem.FileSystem | Path.Path | Hasher> = internal.layer

/**
 * A temp name beside `target`, unique across processes: `.<name>.<token>.ocidx-tmp`. gc and verify know
 * these names and clear leftovers; an implementation of `writeAtomic` must name its temp files so.
 *
 * @since 0.1.0
 * @category constructor
 */
export const tempPathFor: (target: string) => Effect.Effect<string, never, Path.Path> = internal.tempPathFor

/**
 * Whether `name` is a temp name `tempPathFor` makes beside a file named `target`.
 *
 * @since 0.1.0
 * @category predicate
 */
export const isTempNameFor: (target: string, name: string) => boolean = internal.isTempNameFor
