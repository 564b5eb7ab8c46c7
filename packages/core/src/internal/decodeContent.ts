/**
 * Manifest and nested index blobs, parsed, to their schemas: the fast validators first, Schema for what they
 * reject. Apart from decode.ts, which Descriptor imports: these schemas import Descriptor.
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { DecodeError } from "../Errors.js"
import { ImageManifest } from "../ImageManifest.js"
import { NestedIndex } from "../ImageIndex.js"
import { fromParseError, parseOptions } from "./decode.js"
import * as FastDecode from "./fastDecode.js"

/**
 * A parsed value against a schema, the fast validator first: what it accepts Schema would accept as the same
 * value (a property test holds it to that), and whatever it rejects goes through Schema, which names the
 * problem. The Schema decoder is built once, not per document.
 */
const withFastPath = <A, I>(schema: Schema.Schema<A, I>, fast: (raw: unknown) => A | undefined) => {
  const slow = Schema.decodeUnknownEither(schema, parseOptions)
  return (path: string, raw: unknown): Either.Either<A, DecodeError> => {
    const value = fast(raw)
    if (value !== undefined) return Either.right(value)
    return Either.mapLeft(slow(raw), (error) => fromParseError(path, error))
  }
}

/** A parsed manifest blob as an `ImageManifest`. @internal */
export const decodeManifest = withFastPath(ImageManifest, FastDecode.decodeManifest)

/** A parsed nested index blob as a `NestedIndex`. @internal */
export const decodeNestedIndex = withFastPath(NestedIndex, FastDecode.decodeNestedIndex)
