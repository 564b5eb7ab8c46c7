/**
 * The OCI image index: the schema of `index.json` and of nested index blobs.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Annotations } from "./Annotations.js"
import { Descriptor } from "./Descriptor.js"
import { MediaType, ociIndex } from "./MediaType.js"

/**
 * `manifests` is required, but umoci writes `null` for an empty index (a Go nil slice): read it as `[]`.
 */
const Manifests = Schema.transform(
  Schema.NullOr(Schema.Array(Descriptor)),
  Schema.Array(Schema.typeSchema(Descriptor)),
  {
    strict: true,
    decode: (manifests) => manifests ?? [],
    encode: (manifests) => manifests
  }
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
 * The index a missing or empty `index.json` stands for.
 *
 * @since 0.1.0
 * @category constructor
 */
export const empty: ImageIndex = { schemaVersion: 2, mediaType: ociIndex, manifests: [] }
