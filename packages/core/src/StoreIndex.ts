/**
 * The index of one image-layout directory: read it, look entries up, and change it through the write
 * protocol (exclusive lock, validated read, pure change, validated atomic write, lock released), so that
 * concurrent writers, buildkit included, never lose an entry and a crash never leaves a torn file.
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Effect, Layer } from "effect"
import * as Option from "effect/Option"
import * as Context from "effect/Context"
import type { Descriptor, DescriptorInput } from "./Descriptor.js"
import type { DecodeError, LockError, ReadError, WriteError } from "./Errors.js"
import type { ImageIndex } from "./ImageIndex.js"
import type { IndexLock } from "./IndexLock.js"
import * as IndexCodec from "./internal/indexCodec.js"
import * as internal from "./internal/storeIndex.js"
import type { NameOrTag } from "./Reference.js"

/**
 * What a read can fail with.
 *
 * @since 0.1.0
 * @category error
 */
export type ReadFailure = LockError | ReadError | DecodeError

/**
 * What a change can fail with. In every case the index on disk is the one that was there before.
 *
 * @since 0.1.0
 * @category error
 */
export type WriteFailure = LockError | ReadError | DecodeError | WriteError

/**
 * @since 0.1.0
 * @category model
 */
export interface StoreIndex {
  /** The layout directory. */
  readonly directory: string
  /** `<directory>/index.json` */
  readonly indexPath: string
  /** `<directory>/index.json.lock`, the file buildkit locks too. */
  readonly lockPath: string
  /**
   * Creates `oci-layout` and an empty `index.json` where missing, under the exclusive lock. An existing
   * index.json is validated and left as it is.
   */
  readonly init: Effect.Effect<void, WriteFailure>
  /** The whole index, read under a shared lock. A missing index.json is a `ReadError` ("not-found"). */
  readonly read: Effect.Effect<ImageIndex, ReadFailure>
  /** The index's entries, in order. */
  readonly list: Effect.Effect<ReadonlyArray<Descriptor>, ReadFailure>
  /** The first entry whose containerd name is `x`, else whose ref name is `x`, else whose digest is `x`. */
  readonly get: (x: string) => Effect.Effect<Option.Option<Descriptor>, ReadFailure>
  /** The only entry, when the index holds exactly one. */
  readonly getSingle: Effect.Effect<Option.Option<Descriptor>, ReadFailure>
  /**
   * Adds `descriptor` once per name (untagged when there is none), replacing entries with the same ref name
   * and containerd name. The descriptor is validated first and never mutated. Returns the entries added.
   */
  readonly put: (
    descriptor: DescriptorInput,
    names?: ReadonlyArray<NameOrTag>
  ) => Effect.Effect<ReadonlyArray<Descriptor>, WriteFailure>
  /**
   * Several puts under one lock and one write, applied in order; linear in the index plus the batch.
   * Returns the entries each put added.
   */
  readonly putAll: (
    requests: ReadonlyArray<{ readonly descriptor: DescriptorInput; readonly names?: ReadonlyArray<NameOrTag> }>
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<Descriptor>>, WriteFailure>
  /** Removes the entries each name (or tag, or digest) finds, as `get` would. Returns what was removed. */
  readonly remove: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Descriptor>, WriteFailure>
  /**
   * Runs `f` under the exclusive lock on the current index (empty when index.json is missing or empty) and
   * writes the index it returns: all of it, or, when `f` or the write fails, nothing. Returning the same
   * index object writes nothing. A write also creates `oci-layout` when it is missing.
   */
  readonly modify: <A, E, R>(
    f: (index: ImageIndex, source: IndexSource) => Effect.Effect<readonly [A, ImageIndex], E, R>
  ) => Effect.Effect<A, E | WriteFailure, R>
  /**
   * Runs `f` under the shared lock on the current index and writes nothing: for work that must see one
   * index while it runs, and stands in for a change (gc's dry run). A missing index.json is a `ReadError`
   * ("not-found"), as for `read`; an `oci-layout` of a version ocidx does not write fails as for `modify`.
   */
  readonly inspect: <A, E, R>(
    f: (index: ImageIndex, source: IndexSource) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ReadFailure, R>
}

/**
 * What the index handed to `modify` or `inspect` was read from. A blank index.json (0 bytes or whitespace
 * only: what a crashed in-place writer leaves) reads as empty, but a sweep must not take it for a real empty
 * index and delete every blob.
 *
 * @since 0.1.0
 * @category model
 */
export interface IndexSource {
  /** `missing`: no index.json; `blank`: 0 bytes or whitespace only; `text`: a JSON document. */
  readonly kind: "missing" | "blank" | "text"
}

/**
 * @since 0.1.0
 * @category tag
 */
export const StoreIndex: Context.Tag<StoreIndex, StoreIndex> = Context.GenericTag<StoreIndex>("@ocidx/core/StoreIndex")

/**
 * @since 0.1.0
 * @category model
 */
export interface Options {
  readonly directory: string
}

/**
 * The store for one layout directory.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (
  options: Options
) => Effect.Effect<StoreIndex, never, FileSystem.FileSystem | Path.Path | IndexLock> = internal.make

/**
 * @since 0.1.0
 * @category layer
 */
export const layer = (
  options: Options
): Layer.Layer<StoreIndex, never, FileSystem.FileSystem | Path.Path | IndexLock> => internal.layer(StoreIndex, options)

/**
 * The JSON text an index entry has in `index.json`, compact, when the entry came from reading or writing it:
 * every string and number exactly as in the file. A parsed value cannot always say that: `1e400` parses as
 * `Infinity`, which JSON.stringify prints as `null`, and a 20-digit integer loses its last digits. None for an
 * entry that never was in an index.json.
 *
 * @since 0.1.0
 * @category getters
 */
export const entryText = (entry: Descriptor): Option.Option<string> => Option.fromNullable(IndexCodec.sourceText(entry))
