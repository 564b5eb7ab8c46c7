/**
 * One engine that moves an image (a manifest, or a whole index, or chosen platforms of it) between places
 * named with skopeo's transport syntax: `oci:<dir>[:<name-or-tag>]` and `docker://<registry>/<repo>[:tag|@digest]`
 * (archives plug in as further transports). Children go before parents, every blob is verified while it
 * streams, nothing is buffered whole, and a layout's tag is written last, under its lock.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Descriptor } from "./Descriptor.js"
import type { ImageReference } from "./ImageReference.js"
import type { PlatformSelector } from "./Platform.js"

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
