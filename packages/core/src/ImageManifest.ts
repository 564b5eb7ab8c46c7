/**
 * The OCI image manifest (and the Docker schema2 manifest, which has the same shape).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Annotations } from "./Annotations.js"
import { Descriptor } from "./Descriptor.js"
import { MediaType } from "./MediaType.js"

/**
 * An image manifest: a config descriptor and layers, optionally a subject. Unknown fields are kept.
 *
 * @since 0.1.0
 * @category schema
 */
export const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2).annotations({
    message: () => ({ message: "schemaVersion must be the number 2", override: true })
  }),
  mediaType: Schema.optional(MediaType),
  artifactType: Schema.optional(MediaType),
  config: Descriptor,
  layers: Schema.Array(Descriptor),
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageManifest", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type ImageManifest = typeof ImageManifest.Type
