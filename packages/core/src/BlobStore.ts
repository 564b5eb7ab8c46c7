/**
 * The content-addressed blobs of a layout, `blobs/<alg>/<encoded>`: added atomically and verified while
 * written, verified again on read, and never read through a symlink.
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Effect, Option, Stream } from "effect"
import * as Context from "effect/Context"
import type { Algorithm, Digest } from "./Digest.js"
import type { BlobNotFound, DecodeError, DigestMismatch, ReadError, WriteError } from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import * as internal from "./internal/blobStore.js"

/**
 * What `put` and `stat` tell about a blob.
 *
 * @since 0.1.0
 * @category model
 */
export interface BlobInfo {
  readonly digest: Digest
  readonly size: number
}

/**
 * @since 0.1.0
 * @category model
 */
export interface PutOptions {
  /** The algorithm to hash with when no expected digest is given. Default sha256. */
  readonly algorithm?: Algorithm | undefined
  /** What the content must be. A mismatch fails the put and leaves nothing behind. */
  readonly expected?: { readonly digest: Digest; readonly size?: number | undefined } | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface PutFileOptions extends PutOptions {
  /**
   * Told the number of bytes written so far, after each large step (a chunk of a MiB or more). It is called
   * from the copy itself, synchronously, so it must be cheap and must not throw: record the number, and draw
   * it from a fiber of your own.
   */
  readonly onProgress?: ((written: number) => void) | undefined
}

/**
 * @since 0.1.0
 * @category model
 */
export interface BlobStore {
  readonly directory: string
  /** `<directory>/blobs/<alg>/<encoded>`; safe because a `Digest` is validated. */
  readonly pathOf: (digest: Digest) => string
  /**
   * Adds content, hashing it as it is written to a temp file under `blobs/`, then fsync and rename into
   * place. A blob already present with the expected digest is not written again. Streams run in constant
   * memory, and no buffer of a stream is kept past the pull that delivered it: a source may refill the same
   * buffer for its next chunk.
   */
  readonly put: <E = never, R = never>(
    content: Uint8Array | Stream.Stream<Uint8Array, E, R>,
    options?: PutOptions
  ) => Effect.Effect<BlobInfo, E | DigestMismatch | DecodeError | WriteError, R>
  /**
   * Adds the content of the regular file `file`, as `put` adds a stream, with the same checks, guarantees and
   * errors, but copied by the `LayoutFiles` in use in large steps (with `@ocidx/node`'s, outside the Effect
   * runtime, in constant memory). `file` is refused as blobs are, unopened: a symbolic link is a `ReadError`
   * "symlink", a FIFO, a device or a directory "not-a-file" (stream those with `put`); a failed read of it is a
   * `ReadError` naming it.
   */
  readonly putFile: (
    file: string,
    options?: PutFileOptions
  ) => Effect.Effect<BlobInfo, ReadError | DigestMismatch | DecodeError | WriteError>
  /** The whole blob, verified against its digest (and `size` when given). */
  readonly get: (
    digest: Digest,
    options?: { readonly size?: number | undefined }
  ) => Effect.Effect<Uint8Array, BlobNotFound | ReadError | DigestMismatch>
  /**
   * The blob as a stream; fails at the end with `DigestMismatch` when the content is not what it should be.
   * With `reuseBuffers`, the file is read into one buffer, refilled for each chunk: a buffer is valid only until
   * the next pull, for a consumer done with each one by then (an upload that sends it first), and no memory is
   * allocated per byte.
   */
  readonly stream: (
    digest: Digest,
    options?: { readonly size?: number | undefined; readonly reuseBuffers?: boolean | undefined }
  ) => Stream.Stream<Uint8Array, BlobNotFound | ReadError | DigestMismatch>
  /** Whether a regular file for the digest exists. */
  readonly has: (digest: Digest) => Effect.Effect<boolean, ReadError>
  /** The blob's size, without reading it; `None` when absent. A symlink or a non-file is a `ReadError`. */
  readonly stat: (digest: Digest) => Effect.Effect<Option.Option<BlobInfo>, ReadError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const BlobStore: Context.Tag<BlobStore, BlobStore> = Context.GenericTag<BlobStore>("@ocidx/core/BlobStore")

/**
 * The blob store of one layout directory.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (options: {
  readonly directory: string
}) => Effect.Effect<BlobStore, never, FileSystem.FileSystem | Path.Path | Hasher> = internal.make

/**
 * Whether a file name under `blobs/` is one of ocidx's temp files.
 *
 * @since 0.1.0
 * @category predicate
 */
export const isTempFile: (name: string) => boolean = internal.isTempFile
