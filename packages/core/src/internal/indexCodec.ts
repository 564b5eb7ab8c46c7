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
import { decodeUtf8, fromParseError, parseJson, parseOptions } from "./decode.js"
import * as FastDecode from "./fastDecode.js"

// Decoded values are immutable, so an entry that is still the same object is still exactly its source.
const sources = new WeakMap<object, unknown>()
// The JSON text each entry is written as, so a write re-serialises only what changed.
const texts = new WeakMap<object, string>()

/** @internal */
export const isBlank = (bytes: Uint8Array): boolean =>
  bytes.every((byte) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d))

const remember = (value: ImageIndex, raw: unknown): ImageIndex => {
  sources.set(value, raw)
  if (value.subject && Predicate.hasProperty(raw, "subject")) sources.set(value.subject, raw.subject)
  if (Predicate.hasProperty(raw, "manifests") && Array.isArray(raw.manifests)) {
    const rawEntries: ReadonlyArray<unknown> = raw.manifests
    for (const [i, entry] of value.manifests.entries()) sources.set(entry, rawEntries[i])
  }
  return value
}

/**
 * A valid file takes the fast validator; anything it rejects goes through Schema, which names the problem.
 * @internal
 */
export const decode = (path: string, bytes: Uint8Array): Effect.Effect<ImageIndex, DecodeError> =>
  Effect.gen(function* () {
    const raw = yield* parseJson(path, yield* decodeUtf8(path, bytes))
    const fast = FastDecode.decodeIndex(raw)
    if (fast !== undefined) return remember(fast, raw)
    const value = yield* Schema.decodeUnknown(
      ImageIndex,
      parseOptions
    )(raw).pipe(Effect.mapError((error) => fromParseError(path, error)))
    return remember(value, raw)
  })

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

/** Places an entry's issues under ["manifests", position], where they are in the file. */
const atEntry = (error: DecodeError, position: number): DecodeError =>
  new DecodeError({
    ...error,
    issues: error.issues.map((issue) => new DecodeIssue({ ...issue, path: ["manifests", position, ...issue.path] }))
  })

// Synchronous on purpose: this runs for every entry of an index that may hold 100k of them.
const entryText = (path: string, entry: Descriptor, position: number): Either.Either<string, DecodeError> => {
  const cached = texts.get(entry)
  if (cached !== undefined) return Either.right(cached)
  const source = sources.get(entry)
  const encoded: Either.Either<unknown, DecodeError> =
    source !== undefined
      ? Either.right(source)
      : encodeDescriptor(entry).pipe(
          Either.mapLeft((error) => atEntry(fromParseError(path, error), position)),
          Either.flatMap((value) => {
            const refName = value.annotations?.[Annotations.refName]
            return refName === undefined || isRefName(refName)
              ? Either.right(ordered(value, descriptorKeyOrder))
              : Either.left(invalidRefName(path, position, refName))
          })
        )
  return Either.map(encoded, (value) => {
    const text = JSON.stringify(value)
    texts.set(entry, text)
    return text
  })
}

/**
 * Validates an index by encoding it and renders it as compact JSON, `schemaVersion` and `mediaType` first,
 * other top-level fields in the order they were read.
 * @internal
 */
export const encode = (path: string, index: ImageIndex): Effect.Effect<string, DecodeError> =>
  Effect.gen(function* () {
    const fields = yield* encodeIndexFields({ ...index, manifests: [] }).pipe(
      Either.mapLeft((error) => fromParseError(path, error))
    )
    const entries: Array<string> = []
    for (const [i, entry] of index.manifests.entries()) entries.push(yield* entryText(path, entry, i))
    const source = sources.get(index)
    const keyOrder = Predicate.isObject(source) ? Object.keys(source) : Object.keys(fields)
    // An untouched subject is written as it was read, like an untouched entry.
    const subject = index.subject ? (sources.get(index.subject) ?? fields.subject) : undefined
    const { schemaVersion: _, mediaType: __, ...rest } = ordered({ ...fields, manifests: true, subject }, keyOrder)
    const members = [`"schemaVersion":2`, `"mediaType":${JSON.stringify(ociIndex)}`]
    for (const [key, value] of Object.entries(rest)) {
      members.push(`${JSON.stringify(key)}:${key === "manifests" ? `[${entries.join(",")}]` : JSON.stringify(value)}`)
    }
    return `{${members.join(",")}}`
  })
