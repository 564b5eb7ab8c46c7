/**
 * RFC 6838 media types as the OCI descriptor schema restricts them, and the media types ocidx knows.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { isMediaType } from "./internal/rules.js"
import { quote } from "./Text.js"

/**
 * A media type `type/subtype`. Unknown media types are valid: the spec says they must not cause errors.
 *
 * @since 0.1.0
 * @category schema
 */
export const MediaType = Schema.String.pipe(
  Schema.filter(
    (value) =>
      isMediaType(value) ||
      `${quote(value)} is not a media type: expected type/subtype, each part starting with a letter or digit and using only A-Za-z0-9!#$&^_.+- (at most 127 characters each)`
  ),
  Schema.brand("MediaType"),
  Schema.annotations({ identifier: "MediaType" })
)

/**
 * @since 0.1.0
 * @category model
 */
export type MediaType = typeof MediaType.Type

// Decoded once at module load: a typo in a constant fails loudly rather than producing an unchecked brand.
const known = (value: string): MediaType => Schema.decodeSync(MediaType)(value)

/**
 * @since 0.1.0
 * @category constants
 */
export const ociIndex = known("application/vnd.oci.image.index.v1+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociManifest = known("application/vnd.oci.image.manifest.v1+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociConfig = known("application/vnd.oci.image.config.v1+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociEmpty = known("application/vnd.oci.empty.v1+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociLayerTar = known("application/vnd.oci.image.layer.v1.tar")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociLayerTarGzip = known("application/vnd.oci.image.layer.v1.tar+gzip")
/**
 * @since 0.1.0
 * @category constants
 */
export const ociLayerTarZstd = known("application/vnd.oci.image.layer.v1.tar+zstd")
/**
 * @since 0.1.0
 * @category constants
 */
export const dockerManifestList = known("application/vnd.docker.distribution.manifest.list.v2+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const dockerManifest = known("application/vnd.docker.distribution.manifest.v2+json")
/**
 * @since 0.1.0
 * @category constants
 */
export const dockerConfig = known("application/vnd.docker.container.image.v1+json")

/**
 * Whether a descriptor of this media type points at an image index (OCI or Docker manifest list).
 *
 * @since 0.1.0
 * @category predicate
 */
export const isIndex = (mediaType: string): boolean => mediaType === ociIndex || mediaType === dockerManifestList

/**
 * Whether a descriptor of this media type points at an image manifest (OCI or Docker schema2).
 *
 * @since 0.1.0
 * @category predicate
 */
export const isManifest = (mediaType: string): boolean => mediaType === ociManifest || mediaType === dockerManifest
