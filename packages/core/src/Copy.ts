/**
 * One engine that moves an image (a manifest, or a whole index, or chosen platforms of it) between places
 * named with skopeo's transport syntax: `oci:<dir>[:<name-or-tag>]` and `docker://<registry>/<repo>[:tag|@digest]`
 * (archives plug in as further transports). Children go before parents, every blob is verified while it
 * streams, nothing is buffered whole, and a layout's tag is written last, under its lock.
 *
 * @since 0.1.0
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Effect, Either, Stream } from "effect"
import type { Descriptor } from "./Descriptor.js"
import type {
  ArchiveError,
  BlobNotFound,
  DecodeError,
  DigestMismatch,
  GraphError,
  ImageNotFound,
  InvalidReference,
  LockError,
  ReadError,
  RegistryError,
  WriteError
} from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import type { ImageReference } from "./ImageReference.js"
import type { IndexLock } from "./IndexLock.js"
import * as engine from "./internal/copy/engine.js"
import * as location from "./internal/copy/location.js"
import type { PlatformSelector } from "./Platform.js"
import type { RegistryClient } from "./RegistryClient.js"

/**
 * A place an image is copied from or to.
 *
 * @since 0.1.0
 * @category model
 */
export type Location =
  | {
      readonly _tag: "Layout"
      readonly directory: string
      /** A name, tag or digest in the layout: as a source, what to copy; as a destination, the tag to write. */
      readonly reference?: string | undefined
    }
  | { readonly _tag: "Registry"; readonly reference: ImageReference }
  | {
      readonly _tag: "Archive"
      /** `oci` for `oci-archive:`, `docker` for `docker-archive:`: the form written; reading detects it. */
      readonly format: "oci" | "docker"
      /** The tar file, plain or gzip; `-` is standard input or output (see `Options.stdin`, `stdout`). */
      readonly file: string
      /** As a source, the image to take; as a destination, the name or tag of the entry written. */
      readonly reference?: string | undefined
      /** As a destination written from a layout: more of its entries to put in the same archive. */
      readonly entries?: ReadonlyArray<string> | undefined
    }

/**
 * Progress, for a progress display: one event per blob as it starts, moves and ends.
 *
 * @since 0.1.0
 * @category model
 */
export type Progress =
  | { readonly _tag: "Started"; readonly descriptor: Descriptor }
  | { readonly _tag: "Bytes"; readonly descriptor: Descriptor; readonly done: number }
  | { readonly _tag: "Finished"; readonly descriptor: Descriptor; readonly outcome: "copied" | "skipped" | "mounted" }

/**
 * @since 0.1.0
 * @category model
 */
export interface Options {
  /** Narrows an index: one platform copies that manifest alone, several write a new index of just those. */
  readonly platforms?: ReadonlyArray<PlatformSelector> | undefined
  /** Also copies the manifests that name the image as their subject (signatures, SBOMs, attestations). */
  readonly referrers?: boolean | undefined
  /** Blobs moved at once. Default 4. */
  readonly jobs?: number | undefined
  /** Lists what would move, and moves nothing. */
  readonly dryRun?: boolean | undefined
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  /** What an archive named `-` is read from (standard input). Without it, `-` as a source is refused. */
  readonly stdin?: Stream.Stream<Uint8Array, ReadError> | undefined
  /** Where an archive named `-` is written (standard output). Without it, `-` as a destination is refused. */
  readonly stdout?: ((archive: Stream.Stream<Uint8Array, Failure>) => Effect.Effect<void, Failure>) | undefined
}

/**
 * What a copy did (or, in a dry run, would do): the descriptor of what arrived (a new index when several
 * platforms were chosen), the descriptors moved and the ones already there, and the bytes moved.
 *
 * @since 0.1.0
 * @category model
 */
export interface Result {
  readonly manifest: Descriptor
  readonly copied: ReadonlyArray<Descriptor>
  readonly skipped: ReadonlyArray<Descriptor>
  readonly bytes: number
}

/**
 * What a copy can fail with. Whatever fails, a layout destination is left without the new tag (blobs that
 * arrived whole stay, and a rerun skips them), and a registry destination without the tag.
 *
 * @since 0.1.0
 * @category error
 */
export type Failure =
  | LockError
  | ReadError
  | WriteError
  | DecodeError
  | DigestMismatch
  | BlobNotFound
  | GraphError
  | RegistryError
  | InvalidReference
  | ImageNotFound
  | ArchiveError

/**
 * Parses a location in skopeo's transport syntax: `oci:<dir>[:<name-or-tag>]` or
 * `docker://[<registry>/]<repository>[:<tag>][@<digest>]`. As skopeo does, `oci:` splits at the first colon
 * after the transport, so a directory whose path holds a colon is named by a relative path or a symlink.
 * `oci-archive:<file|->[:<name-or-tag>]` and `docker-archive:<file|->[:<name>]` split the same way (a docker
 * name keeps its own colons: `docker-archive:app.tar:registry.example:5000/app:v1`).
 *
 * @example
 * ```ts
 * import { Copy } from "@ocidx/core"
 *
 * Copy.parseLocation("oci:./build:v1") // Right({ _tag: "Layout", directory: "./build", reference: "v1" })
 * ```
 *
 * @since 0.1.0
 * @category constructor
 */
export const parseLocation: (text: string) => Either.Either<Location, InvalidReference> = location.parseLocation

/**
 * Formats a location in the syntax `parseLocation` reads.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatLocation: (location: Location) => string = location.formatLocation

/**
 * Copies the image `source` names to `destination`: by default everything below its root, byte for byte;
 * with `platforms`, the manifest of one platform, or a new index of several. Blobs move `jobs` at once and
 * are verified while they stream; blobs already at the destination are skipped; same-registry copies mount
 * across repositories. Manifests follow their children, and the tag comes last: into a layout with
 * `StoreIndex.put` under its lock. Copying from a layout that names no entry takes its only entry.
 *
 * Into a layout without a tag: a registry image keeps its full name (as `io.containerd.image.name`, its tag
 * as the ref name, as buildkit and containerd name pulled images); an image from a layout keeps its names.
 *
 * @since 0.1.0
 * @category constructor
 */
export const copy: (
  source: Location,
  destination: Location,
  options?: Options
) => Effect.Effect<Result, Failure, FileSystem.FileSystem | Path.Path | IndexLock | Hasher | RegistryClient> =
  engine.copy
