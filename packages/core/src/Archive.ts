/**
 * Image archives: the tarballs `docker buildx build --output type=oci`, `skopeo copy ... oci-archive:` and
 * `docker save` write. `read` loads one into a layout in one streaming pass (plain or gzip, OCI or docker,
 * legacy or Docker 25+), and refuses a hostile or broken one with an `ArchiveError`; `write` makes one from a
 * layout, byte for byte the same each time. The tar code is modern-tar (zero dependencies, web streams), so
 * this module runs wherever core runs: the archive is a stream of bytes, never a path on disk.
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { Failure, Progress } from "./Copy.js"
import type { Descriptor } from "./Descriptor.js"
import type { ArchiveError } from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import type { IndexLock } from "./IndexLock.js"
import * as internal from "./internal/copy/archive.js"
import * as Layout from "./Layout.js"
import type { NameOrTag } from "./Reference.js"

/**
 * An image an archive holds, and the names it gives it (`io.containerd.image.name` and the ref name of an
 * OCI archive's index, or a docker archive's `RepoTags`).
 *
 * @since 0.1.0
 * @category model
 */
export interface Image {
  readonly descriptor: Descriptor
  readonly names: ReadonlyArray<NameOrTag>
}

/**
 * @since 0.1.0
 * @category model
 */
export interface ReadOptions {
  /** Only the image with this name, tag or digest. */
  readonly select?: string | undefined
  /** The names to give the image instead of the archive's; the archive (or `select`) must then name one image. */
  readonly tags?: ReadonlyArray<NameOrTag> | undefined
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

/**
 * What `read` did: the images it named in the layout, the blobs stored and those already there, and the
 * bytes stored.
 *
 * @since 0.1.0
 * @category model
 */
export interface ReadResult {
  readonly images: ReadonlyArray<Image>
  readonly copied: ReadonlyArray<Descriptor>
  readonly skipped: ReadonlyArray<Descriptor>
  readonly bytes: number
}

/**
 * Reads the archive `content` into the layout at `directory` (created by the first blob stored), in one pass: every blob
 * through its BlobStore (verified against the digest its path names, or hashed when a legacy docker archive
 * names files by id), and the names last, in one `StoreIndex.putAll` under the lock. `index.json` may come
 * first or last; a legacy docker archive becomes an OCI manifest with its config kept byte for byte; a Docker
 * 25+ archive is read as the OCI layout it holds. `archive` is how messages name the input.
 *
 * An archive that could reach outside itself, holds devices or unknown files, contradicts itself, is cut
 * off or expands beyond what its entries declare fails with an `ArchiveError` naming the entry: nothing is
 * tagged, and only complete, verified blobs stay behind (gc collects them).
 *
 * @since 0.1.0
 * @category constructor
 */
export const read = <E, R>(
  content: Stream.Stream<Uint8Array, E, R>,
  archive: string,
  directory: string,
  options?: ReadOptions
): Effect.Effect<ReadResult, E | Failure | ArchiveError, R | FileSystem.FileSystem | Path.Path | IndexLock | Hasher> =>
  Effect.flatMap(Layout.make({ directory }), (layout) => internal.read(content, archive, layout, options))

/**
 * The archive form `write` produces: `oci` (an OCI image layout) or `docker` (the Docker 25+ form `docker
 * load` reads: the OCI layout plus `manifest.json`).
 *
 * @since 0.1.0
 * @category model
 */
export type Format = "oci" | "docker"

/**
 * @since 0.1.0
 * @category model
 */
export interface Written {
  /** The index entries the archive holds, with their names. */
  readonly entries: ReadonlyArray<Descriptor>
  /** Every blob it holds, in archive order. */
  readonly blobs: ReadonlyArray<Descriptor>
  /** The archive's bytes, produced as they are consumed (blobs are read from the layout then). */
  readonly archive: Stream.Stream<Uint8Array, Failure>
}

/**
 * The archive of the entries `references` names in the layout at `directory` (every entry when none is
 * named), in containerd's order: blobs sorted by path, then `index.json`, (`manifest.json`,) then
 * `oci-layout`, every header with uid/gid 0, mode 0644 and mtime 0, so one layout always gives the same bytes.
 * Everything the archive will hold is found and checked before its first byte is produced.
 *
 * @since 0.1.0
 * @category constructor
 */
export const write = (
  directory: string,
  references: ReadonlyArray<string>,
  options?: { readonly format?: Format | undefined; readonly label?: string | undefined }
): Effect.Effect<Written, Failure, FileSystem.FileSystem | Path.Path | IndexLock | Hasher> =>
  Effect.flatMap(Layout.make({ directory }), (layout) =>
    internal.write(layout, options?.label ?? `oci:${directory}`, references, options?.format ?? "oci")
  )
