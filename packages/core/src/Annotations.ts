/**
 * Descriptor and index annotations: a string-to-string map, and the keys ocidx reads and writes.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { isAnnotationKey } from "./internal/rules.js"

/**
 * An annotation key: non-empty, and never a key that would reach an object's prototype.
 *
 * @since 0.1.0
 * @category schema
 */
export const AnnotationKey = Schema.String.pipe(
  Schema.filter(
    (key) =>
      isAnnotationKey(key) || "an annotation key must be a non-empty string without NUL and must not be __proto__"
  ),
  Schema.annotations({ identifier: "AnnotationKey" })
)

/**
 * @since 0.1.0
 * @category schema
 */
export const Annotations = Schema.Record({ key: AnnotationKey, value: Schema.String }).annotations({
  identifier: "Annotations",
  // A key that fails AnnotationKey must be reported, not kept aside as an unknown field.
  parseOptions: { onExcessProperty: "error" }
})

/**
 * @since 0.1.0
 * @category model
 */
export type Annotations = typeof Annotations.Type

/**
 * The tag of a top-level `index.json` entry.
 *
 * @since 0.1.0
 * @category constants
 */
export const refName = "org.opencontainers.image.ref.name"

/**
 * The full image name that buildkit and containerd write beside `ref.name`.
 *
 * @since 0.1.0
 * @category constants
 */
export const containerdImageName = "io.containerd.image.name"
