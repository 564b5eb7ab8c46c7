/** @internal */
import * as Schema from "effect/Schema"
import { Descriptor } from "../../Descriptor.js"

/**
 * The descriptors a manifest or an index names, read without knowing its type (an artifact manifest, say):
 * what a copy must carry along with it. Each member is optional; every descriptor present is validated.
 *
 * @internal
 */
export const LooseManifest = Schema.Struct({
  config: Schema.optional(Descriptor),
  layers: Schema.optional(Schema.Array(Descriptor)),
  blobs: Schema.optional(Schema.Array(Descriptor)),
  manifests: Schema.optional(Schema.Array(Descriptor)),
  subject: Schema.optional(Descriptor)
})
