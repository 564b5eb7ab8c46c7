/**
 * The `oci-layout` marker file at the root of every image layout.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The only layout version ocidx writes into.
 *
 * @since 0.1.0
 * @category constants
 */
export const supportedVersion = "1.0.0"

/**
 * The `oci-layout` file: `imageLayoutVersion` is required; extra fields are allowed and kept.
 *
 * @since 0.1.0
 * @category schema
 */
export const OciLayout = Schema.Struct({
  imageLayoutVersion: Schema.String
}).annotations({ identifier: "OciLayout", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type OciLayout = typeof OciLayout.Type

/**
 * The bytes ocidx writes for a new layout, byte-compatible with buildkit's.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultContent = `{"imageLayoutVersion":"${supportedVersion}"}`
