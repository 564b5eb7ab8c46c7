/**
 * OCI content descriptors: what `index.json` entries, manifest configs and layers are made of.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Annotations } from "./Annotations.js"
import { Digest } from "./Digest.js"
import type { DecodeError } from "./Errors.js"
import * as decode from "./internal/decode.js"
import * as rules from "./internal/rules.js"
import { MediaType } from "./MediaType.js"
import { Platform } from "./Platform.js"

/**
 * A blob size: an integer from 0 to 2^53-1. The spec allows int64, but JavaScript cannot hold larger
 * integers exactly, and a size that silently changed on a round trip would corrupt the descriptor.
 *
 * @since 0.1.0
 * @category schema
 */
export const Size = Schema.Number.pipe(
  Schema.filter((value) => rules.sizeProblem(value) ?? true),
  Schema.annotations({ identifier: "Size" })
)

const Url = Schema.String.pipe(
  Schema.filter((value) => rules.isUri(value) || `"${value}" is not a URI: expected scheme:rest, e.g. https://...`),
  Schema.annotations({ identifier: "Url" })
)

/**
 * The number of bytes a valid base64 string decodes to.
 *
 * @since 0.1.0
 * @category getter
 */
export const base64DecodedLength: (text: string) => number = rules.base64DecodedLength

const Base64 = Schema.String.pipe(
  Schema.filter((value) => rules.isBase64(value) || "data must be standard base64 with padding"),
  Schema.annotations({ identifier: "Base64" })
)

const fields = {
  mediaType: MediaType,
  digest: Digest,
  size: Size,
  urls: Schema.optional(Schema.Array(Url)),
  annotations: Schema.optional(Annotations),
  data: Schema.optional(Base64),
  platform: Schema.optional(Platform),
  artifactType: Schema.optional(MediaType)
}

/**
 * A descriptor. Fields ocidx does not model are kept. Embedded `data` must decode to `size` bytes; its
 * digest is checked by `verify`, which can hash.
 *
 * @since 0.1.0
 * @category schema
 */
export const Descriptor = Schema.Struct(fields)
  .pipe(
    Schema.filter((descriptor) =>
      descriptor.data === undefined || base64DecodedLength(descriptor.data) === descriptor.size
        ? true
        : {
            path: ["data"],
            message: `embedded data decodes to ${base64DecodedLength(descriptor.data)} bytes but size is ${descriptor.size}`
          }
    )
  )
  .annotations({ identifier: "Descriptor", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type Descriptor = typeof Descriptor.Type

/**
 * What a caller may pass where a descriptor is expected: plain strings, validated before anything is written.
 *
 * @since 0.1.0
 * @category model
 */
export type DescriptorInput = typeof Descriptor.Encoded

/**
 * The annotation value under `key`, if any.
 *
 * @since 0.1.0
 * @category getter
 */
export const annotation = (descriptor: Descriptor, key: string): string | undefined =>
  descriptor.annotations && Object.hasOwn(descriptor.annotations, key) ? descriptor.annotations[key] : undefined

/**
 * Validates input as a descriptor: every problem is reported, fields ocidx does not model are kept. `source`
 * names where the input came from (a file, "the --descriptor argument") in the error.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown =
  (source: string) =>
  (input: unknown): Effect.Effect<Descriptor, DecodeError> =>
    decode.decodeUnknown(Descriptor, source)(input)

/**
 * Parses and validates a descriptor from JSON bytes (UTF-8), as read from a file or standard input.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = (source: string, bytes: Uint8Array): Effect.Effect<Descriptor, DecodeError> =>
  // A descriptor is written from its parsed value: a number that value would round is refused, not changed.
  Effect.map(decode.decodeJsonFile(Descriptor, source, bytes, { exactNumbers: true }), ({ value }) => value)
