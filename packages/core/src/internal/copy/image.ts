/**
 * The two ends of a copy. A transport is a source (resolves the root, reads manifests and streams blobs) and
 * a destination (says what it has, takes verified blobs and manifests, and commits the tag last); the engine
 * walks the graph between them. Archives plug in as further implementations.
 * @internal
 */
import type { Effect, Stream } from "effect"
import type { Failure } from "../../Copy.js"
import type { Descriptor } from "../../Descriptor.js"
import type { DigestMismatch } from "../../Errors.js"
import type { NameOrTag } from "../../Reference.js"
import type { Repository } from "../../RegistryClient.js"

/** A manifest or index with its exact bytes. @internal */
export interface Fetched {
  readonly descriptor: Descriptor
  readonly bytes: Uint8Array
}

/**
 * What a destination asks of a blob's content: `reuseBuffers` when it is done with each buffer before it pulls
 * the next, so the source may refill one buffer. @internal
 */
export interface ContentOptions {
  readonly reuseBuffers?: boolean | undefined
}

/** @internal */
export interface ImageSource {
  /** How messages name it, e.g. `oci:/srv/layout` or `docker://ghcr.io/org/app:v1`. */
  readonly label: string
  /** The registry repository, for cross-repository mounts; none for a layout. */
  readonly repository: Repository | undefined
  /** The root, and the names a layout destination that names none gives it. */
  readonly root: Effect.Effect<{ readonly fetched: Fetched; readonly names: ReadonlyArray<NameOrTag> }, Failure>
  /** A manifest's bytes, verified against the descriptor. */
  readonly manifest: (descriptor: Descriptor) => Effect.Effect<Uint8Array, Failure>
  /**
   * A blob's bytes as they arrive; fails (at the latest at its end) when they are not the ones described. With
   * `reuseBuffers` a source may refill one buffer for each chunk.
   */
  readonly blob: (descriptor: Descriptor, options?: ContentOptions) => Stream.Stream<Uint8Array, Failure>
  /**
   * The same bytes, never more than the descriptor's size, with the digest left unchecked: only for a
   * destination that `verifiesBlobs`, so each byte is hashed once.
   */
  readonly unverifiedBlob?:
    | {
        readonly stream: (descriptor: Descriptor) => Stream.Stream<Uint8Array, Failure>
        /** The failure to report when the destination finds the bytes wrong: the source sent them. */
        readonly mismatch: (descriptor: Descriptor, error: DigestMismatch) => Failure
      }
    | undefined
  /** The manifests that name `descriptor` as their subject. */
  readonly referrers: (descriptor: Descriptor) => Effect.Effect<ReadonlyArray<Descriptor>, Failure>
}

/** What happened to a blob at the destination. @internal */
export type BlobOutcome = "present" | "mounted" | "copied"

/** @internal */
export interface ImageDestination {
  readonly label: string
  readonly repository: Repository | undefined
  /** Checks made before anything moves: the tag to write is valid, the digest named is the one arriving. */
  readonly check: (root: Descriptor) => Effect.Effect<void, Failure>
  /** Makes the destination ready for writes (a layout is created where missing). Not run by a dry run. */
  readonly prepare: Effect.Effect<void, Failure>
  readonly has: (descriptor: Descriptor, kind: "blob" | "manifest") => Effect.Effect<boolean, Failure>
  /** Whether `putBlob` checks the digest and size of what it writes, and keeps nothing that fails. */
  readonly verifiesBlobs?: boolean | undefined
  /** Adds a blob unless present; `content` is pulled only when the bytes must be sent. */
  readonly putBlob: (
    descriptor: Descriptor,
    content: (options?: ContentOptions) => Stream.Stream<Uint8Array, Failure>,
    mountFrom: string | undefined
  ) => Effect.Effect<BlobOutcome, Failure>
  readonly putManifest: (fetched: Fetched) => Effect.Effect<void, Failure>
  /** Names the root, last: the tag of a layout (with `sourceNames` when it names none), a registry's tag. */
  readonly commit: (
    root: Fetched,
    sourceNames: ReadonlyArray<NameOrTag>,
    referrers: ReadonlyArray<Descriptor>
  ) => Effect.Effect<void, Failure>
}
