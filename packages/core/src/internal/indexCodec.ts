/**
 * index.json to ImageIndex and back. Decoding remembers each entry's source JSON, so entries a change does
 * not touch are written back exactly as they were read (key order included) and are not encoded again.
 * @internal
 */
import { Effect, Either, Predicate, Schema } from "effect"
import * as Annotations from "../Annotations.js"
import { Descriptor } from "../Descriptor.js"
import { DecodeError, DecodeIssue } from "../Errors.js"
import { ImageIndex } from "../ImageIndex.js"
import { ociIndex } from "../MediaType.js"
import { RefName } from "../Reference.js"
import { decodeJsonFile, fromParseError, parseOptions } from "./decode.js"

// Decoded values are immutable, so an entry that is still the same object is still exactly its source.
const sources = new WeakMap<object, unknown>()

/** @internal */
export const isBlank = (bytes: Uint8Array): boolean =>
  bytes.every((byte) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d))

/** @internal */
export const decode = (path: string, bytes: Uint8Array): Effect.Effect<ImageIndex, DecodeError> =>
  decodeJsonFile(ImageIndex, path, bytes).pipe(
    Effect.map(({ raw, value }) => {
      sources.set(value, raw)
      if (Predicate.hasProperty(raw, "manifests") && Array.isArray(raw.manifests)) {
        const rawEntries: ReadonlyArray<unknown> = raw.manifests
        for (const [i, entry] of value.manifests.entries()) sources.set(entry, rawEntries[i])
      }
      return value
    })
  )

// Go's field order for a descriptor, so entries ocidx creates look like buildkit's.
const descriptorKeyOrder = ["mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"]

const ordered = (value: object, first: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const entries = Object.entries(value)
  for (const key of first) {
    const found = entries.find(([k]) => k === key)
    if (found && found[1] !== undefined) out[key] = found[1]
  }
  for (const [key, item] of entries) if (!first.includes(key) && item !== undefined) out[key] = item
  return out
}

const isRefName = Schema.is(RefName)
const encodeDescriptor = Schema.encodeEither(Descriptor, parseOptions)
const encodeIndexFields = Schema.encodeEither(ImageIndex, parseOptions)

const invalidRefName = (path: string, position: number, value: string): DecodeError => {
  const message = `"${value}" is not a valid ref name; ocidx does not write one`
  return new DecodeError({
    path,
    reason: "schema",
    detail: message,
    issues: [new DecodeIssue({ path: ["manifests", position, "annotations", Annotations.refName], message })]
  })
}

// Synchronous on purpose: this runs for every entry of an index that may hold 100k of them.
const encodeEntry = (path: string, entry: Descriptor, position: number): Either.Either<unknown, DecodeError> => {
  const source = sources.get(entry)
  if (source !== undefined) return Either.right(source)
  return encodeDescriptor(entry).pipe(
    Either.mapLeft((error) => fromParseError(path, error)),
    Either.flatMap((encoded) => {
      const refName = encoded.annotations?.[Annotations.refName]
      return refName === undefined || isRefName(refName)
        ? Either.right(ordered(encoded, descriptorKeyOrder))
        : Either.left(invalidRefName(path, position, refName))
    })
  )
}

/**
 * Validates an index by encoding it and renders it as compact JSON, `schemaVersion` and `mediaType` first.
 * @internal
 */
export const encode = (path: string, index: ImageIndex): Effect.Effect<string, DecodeError> =>
  Effect.gen(function* () {
    const fields = yield* encodeIndexFields({ ...index, manifests: [] }).pipe(
      Either.mapLeft((error) => fromParseError(path, error))
    )
    const manifests: Array<unknown> = []
    for (const [i, entry] of index.manifests.entries()) manifests.push(yield* encodeEntry(path, entry, i))
    const source = sources.get(index)
    const keyOrder = Predicate.isObject(source) ? Object.keys(source) : Object.keys(fields)
    const { schemaVersion: _, mediaType: __, ...rest } = ordered({ ...fields, manifests }, keyOrder)
    return JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, ...rest })
  })
