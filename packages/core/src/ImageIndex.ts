/**
 * The OCI image index: the schema of `index.json` and of nested index blobs.
 *
 * @since 0.1.0
 */
import type { Option } from "effect"
import * as Schema from "effect/Schema"
import { Annotations } from "./Annotations.js"
import { Descriptor } from "./Descriptor.js"
import * as IndexOps from "./internal/indexOps.js"
import { MediaType, ociIndex } from "./MediaType.js"
import type { NameOrTag } from "./Reference.js"

/**
 * `manifests` is required, but umoci writes `null` for an empty index (a Go nil slice): read it as `[]`.
 * Composed rather than a union, so one bad entry is reported alone and not beside the whole array.
 */
const Manifests = Schema.compose(
  Schema.transform(Schema.Unknown, Schema.Unknown, {
    strict: true,
    // `=== null`, not `??`: a missing manifests (undefined) must still be an error.
    decode: (manifests) => (manifests === null ? [] : manifests),
    encode: (manifests) => manifests
  }),
  Schema.Array(Descriptor),
  { strict: false }
).annotations({ identifier: "Manifests" })

/**
 * An image index. `mediaType`, when present, must be the OCI index media type. Unknown fields are kept.
 *
 * @since 0.1.0
 * @category schema
 */
export const ImageIndex = Schema.Struct({
  schemaVersion: Schema.Literal(2).annotations({
    message: () => ({ message: "schemaVersion must be the number 2", override: true })
  }),
  mediaType: Schema.optional(
    Schema.Literal(ociIndex).annotations({
      message: () => ({ message: `mediaType must be "${ociIndex}" when present`, override: true })
    })
  ),
  artifactType: Schema.optional(MediaType),
  manifests: Manifests,
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageIndex", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type ImageIndex = typeof ImageIndex.Type

/**
 * A nested index blob: an OCI index or a Docker manifest list, whose `mediaType` may be either.
 *
 * @since 0.1.0
 * @category schema
 */
export const NestedIndex = Schema.Struct({
  ...ImageIndex.fields,
  mediaType: Schema.optional(MediaType)
}).annotations({ identifier: "NestedIndex", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type NestedIndex = typeof NestedIndex.Type

/**
 * One put: a descriptor and the names to add it under (none: one untagged entry).
 *
 * @since 0.1.0
 * @category model
 */
export interface PutRequest {
  readonly descriptor: Descriptor
  readonly names: ReadonlyArray<NameOrTag>
}

/**
 * Applies puts in order with buildkit's semantics: each adds its descriptor once per name, replacing the
 * entries with the same ref name and containerd name (an untagged put replaces the untagged entries of the
 * same digest). Linear in the index plus the batch: use it inside `StoreIndex.modify` for large batches.
 *
 * @since 0.1.0
 * @category combinators
 */
export const putAll = (
  index: ImageIndex,
  requests: ReadonlyArray<PutRequest>
): { readonly index: ImageIndex; readonly added: ReadonlyArray<ReadonlyArray<Descriptor>> } =>
  IndexOps.putAll(index, requests)

/**
 * Removes the entries each of `names` finds, as `StoreIndex.get` would find them.
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove = (
  index: ImageIndex,
  names: ReadonlyArray<string>
): { readonly index: ImageIndex; readonly removed: ReadonlyArray<Descriptor> } => IndexOps.remove(index, names)

/**
 * The first entry whose containerd name is `x`, else whose ref name is `x`, else whose digest is `x`.
 *
 * @since 0.1.0
 * @category getters
 */
export const get = (index: ImageIndex, x: string): Option.Option<Descriptor> => IndexOps.get(index, x)

/**
 * The index a missing or empty `index.json` stands for.
 *
 * @since 0.1.0
 * @category constructor
 */
export const empty: ImageIndex = { schemaVersion: 2, mediaType: ociIndex, manifests: [] }
