/**
 * Shared fast-check arbitraries for the OCI schemas, and small helpers for fixtures and codec tests.
 * The arbitraries build plain JSON shapes and decode them through the real schemas, so every generated
 * value is valid by construction and carries its brands without casts.
 */
import { readFileSync } from "node:fs"
import * as Descriptor from "@ocidx/core/Descriptor"
import * as Digest from "@ocidx/core/Digest"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as MediaType from "@ocidx/core/MediaType"
import * as Reference from "@ocidx/core/Reference"
import { Cause, Effect, Exit, FastCheck as fc, Option, Schema } from "effect"
import type { DecodeError } from "@ocidx/core/Errors"
import * as IndexCodec from "../../src/internal/indexCodec.js"

/** Plain JSON as `JSON.parse` returns it. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const preserve = { errors: "all", onExcessProperty: "preserve" } as const

// ---------------------------------------------------------------------------------------------------------
// bytes and fixtures
// ---------------------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

/** UTF-8 bytes of a text. */
export const bytesOf = (text: string): Uint8Array => encoder.encode(text)

/** The raw bytes of `test/fixtures/<name>`. */
export const fixtureBytes = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)))

/** The text of `test/fixtures/<name>`. */
export const fixtureText = (name: string): string =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")

/**
 * The index.json fixtures, all valid. They end in `.golden` so the formatter leaves their bytes alone:
 * compact and pretty-printed layouts are part of what they test.
 */
export const indexFixtures = [
  "buildkit-index.json.golden",
  "buildkit-nested-index.json.golden",
  "skopeo-index.json.golden",
  "umoci-index.json.golden",
  "docker-save-index.json.golden",
  "containerd-docker-media-types.json.golden",
  "unknown-fields-index.json.golden"
] as const

/** A JSON object read back from text, or a failed assertion. */
export const parseObject = (text: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(text)
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${text.slice(0, 80)}`)
  }
  return { ...value }
}

/** The `manifests` array of an index.json text, each entry as its own compact JSON. */
export const entryTexts = (text: string): ReadonlyArray<string> => {
  const manifests = parseObject(text).manifests
  return Array.isArray(manifests) ? manifests.map((entry: unknown) => JSON.stringify(entry)) : []
}

/** Runs the codec's decode synchronously and returns its Exit. */
export const decodeIndexExit = (text: string | Uint8Array, path = "index.json") =>
  Effect.runSync(Effect.exit(IndexCodec.decode(path, typeof text === "string" ? bytesOf(text) : text)))

/** The DecodeError of a failed exit, or a failed assertion naming what happened instead. */
export const decodeErrorOf = <A>(exit: Exit.Exit<A, DecodeError>): DecodeError => {
  if (Exit.isSuccess(exit))
    throw new Error(`expected a DecodeError, but decoding succeeded: ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a DecodeError, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** The paths of a DecodeError's issues, for `toContainEqual`. */
export const issuePaths = (error: DecodeError): ReadonlyArray<ReadonlyArray<string | number>> =>
  error.issues.map((issue) => issue.path)

/** A deterministic sha256 digest string for a label (fake content, valid shape). */
export const sha256Of = (label: string): string => {
  let hex = ""
  let state = 2166136261
  for (let round = 0; hex.length < 64; round++) {
    for (const char of `${label}#${round}`) state = Math.imul(state ^ char.charCodeAt(0), 16777619) >>> 0
    hex += state.toString(16).padStart(8, "0")
  }
  return `sha256:${hex.slice(0, 64)}`
}

// ---------------------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------------------

const hexOf = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: length, maxLength: length }).map((c) => c.join(""))

/** Digest strings: mostly sha256, some sha512, some unknown algorithms that fit the grammar. */
export const arbDigestString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: hexOf(64).map((hex) => `sha256:${hex}`) },
  { weight: 2, arbitrary: hexOf(128).map((hex) => `sha512:${hex}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.stringMatching(/^[a-z0-9]+(?:[+._-][a-z0-9]+){0,2}$/), fc.stringMatching(/^[a-zA-Z0-9=_-]+$/))
      .filter(([algorithm]) => !Object.hasOwn(Digest.registeredAlgorithms, algorithm))
      .map(([algorithm, encoded]) => `${algorithm}:${encoded}`)
  }
)

/** Valid digests. */
export const arbDigest: fc.Arbitrary<Digest.Digest> = arbDigestString.map(Schema.decodeSync(Digest.Digest))

const mediaTypePart = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,20}$/)

/** Media type strings: the known ones and random valid ones. */
export const arbMediaTypeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    MediaType.ociIndex,
    MediaType.ociManifest,
    MediaType.dockerManifestList,
    MediaType.dockerManifest,
    MediaType.ociConfig,
    MediaType.ociLayerTarGzip
  ),
  fc.tuple(mediaTypePart, mediaTypePart).map(([type, subtype]) => `${type}/${subtype}`)
)

/** Valid media types. */
export const arbMediaType: fc.Arbitrary<MediaType.MediaType> = arbMediaTypeString.map(
  Schema.decodeSync(MediaType.MediaType)
)

const alphanum = fc.stringMatching(/^[A-Za-z0-9]{1,6}$/)
const separator = fc.constantFrom("-", ".", "_", ":", "@", "+", "--")
const refComponent = fc
  .tuple(alphanum, fc.array(fc.tuple(separator, alphanum), { maxLength: 3 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(""))

/** Ref name strings by the grammar of the annotations spec. */
export const arbRefNameString: fc.Arbitrary<string> = fc
  .array(refComponent, { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join("/"))

/** Valid ref names (`org.opencontainers.image.ref.name` values). */
export const arbRefName: fc.Arbitrary<Reference.RefName> = arbRefNameString.map(Schema.decodeSync(Reference.RefName))

/** Valid sizes, biased to the edges. */
export const arbSize: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER),
  fc.nat(),
  fc.maxSafeNat()
)

const annotationKey = fc
  .oneof(
    // No ref.name here: a random value would not be a valid tag, and arbEntryJson sets valid ones.
    fc.constantFrom(
      "org.opencontainers.image.created",
      "io.containerd.image.name",
      "vnd.docker.reference.type",
      "com.example.custom"
    ),
    fc.string({ minLength: 1, maxLength: 12 })
  )
  .filter((key) => key !== "__proto__" && !key.includes("\0"))

/** Annotation maps as JSON. */
export const arbAnnotationsJson: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  annotationKey,
  fc.string({ maxLength: 16 }),
  { maxKeys: 4 }
)

/**
 * Any JSON value, as it comes back from `JSON.parse` (so no -0). Without "__proto__" keys: whether one nested
 * inside an unknown field is kept or refused is a policy the tests of that key pin down on their own.
 */
export const arbJsonValue: fc.Arbitrary<Json> = fc
  .json({ maxDepth: 2 })
  .filter((text) => !text.includes('"__proto__"'))
  .map((text): Json => JSON.parse(text))

const unknownFields = fc.dictionary(fc.constantFrom("x-vendor", "comment", "zz"), arbJsonValue, { maxKeys: 2 })

const optionalFields = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) =>
  fc.record(fields, { requiredKeys: [] })

/** Platforms as JSON, including optional and unknown fields. */
export const arbPlatformJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record({
      os: fc.constantFrom("linux", "windows", "darwin", "freebsd", "unknown"),
      architecture: fc.constantFrom("amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "unknown")
    }),
    optionalFields({
      variant: fc.constantFrom("v5", "v6", "v7", "v8"),
      "os.version": fc.constantFrom("10.0.17763.5329", "10.0.20348.2227"),
      "os.features": fc.array(fc.constantFrom("win32k"), { maxLength: 1 }),
      features: fc.array(fc.constantFrom("sse4", "avx2"), { maxLength: 2 })
    }),
    unknownFields
  )
  .map(([required, optional, unknown]) => ({ ...unknown, ...required, ...optional }))

const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

/** Descriptors as JSON: every optional field sometimes, unknown fields sometimes, `data` always consistent. */
export const arbDescriptorJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record({ mediaType: arbMediaTypeString, digest: arbDigestString, size: arbSize }),
    optionalFields({
      urls: fc.array(fc.webUrl(), { maxLength: 2 }),
      annotations: arbAnnotationsJson,
      platform: arbPlatformJson,
      artifactType: arbMediaTypeString
    }),
    fc.option(fc.uint8Array({ maxLength: 12 }), { nil: undefined }),
    unknownFields
  )
  .map(([required, optional, data, unknown]) => ({
    ...required,
    ...optional,
    ...(data === undefined ? {} : { data: base64Of(data), size: data.length }),
    ...unknown
  }))

/** Valid descriptors (decoded values, unknown fields kept). */
export const arbDescriptor: fc.Arbitrary<Descriptor.Descriptor> = arbDescriptorJson.map(
  Schema.decodeUnknownSync(Descriptor.Descriptor, preserve)
)

/** index.json entries as JSON: descriptors, often tagged the way buildkit tags them. */
export const arbEntryJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(arbDescriptorJson, fc.option(fc.tuple(arbRefNameString, fc.boolean()), { nil: undefined }))
  .map(([descriptor, tag]) => {
    if (tag === undefined) return descriptor
    const [refName, withImageName] = tag
    const previous = typeof descriptor.annotations === "object" ? descriptor.annotations : {}
    return {
      ...descriptor,
      annotations: {
        ...previous,
        ...(withImageName ? { "io.containerd.image.name": `docker.io/library/app:${refName}` } : {}),
        "org.opencontainers.image.ref.name": refName
      }
    }
  })

/** Image indexes as JSON: with or without mediaType, subject, annotations and unknown fields. */
export const arbImageIndexJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.boolean(),
    fc.array(arbEntryJson, { maxLength: 6 }),
    optionalFields({ artifactType: arbMediaTypeString, subject: arbDescriptorJson, annotations: arbAnnotationsJson }),
    unknownFields
  )
  .map(([withMediaType, manifests, optional, unknown]) => ({
    schemaVersion: 2,
    ...(withMediaType ? { mediaType: MediaType.ociIndex } : {}),
    manifests,
    ...optional,
    ...unknown
  }))

/** Nested index blobs as JSON: an OCI index or a Docker manifest list, with any of their optional fields. */
export const arbNestedIndexJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.option(arbMediaTypeString, { nil: undefined }),
    fc.array(arbDescriptorJson, { maxLength: 4 }),
    optionalFields({ artifactType: arbMediaTypeString, subject: arbDescriptorJson, annotations: arbAnnotationsJson }),
    unknownFields
  )
  .map(([mediaType, manifests, optional, unknown]) => ({
    schemaVersion: 2,
    ...(mediaType === undefined ? {} : { mediaType }),
    manifests,
    ...optional,
    ...unknown
  }))

/** Image manifests as JSON: config and layers, with any of the optional fields and unknown ones. */
export const arbImageManifestJson: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    arbDescriptorJson,
    fc.array(arbDescriptorJson, { maxLength: 4 }),
    optionalFields({
      mediaType: arbMediaTypeString,
      artifactType: arbMediaTypeString,
      subject: arbDescriptorJson,
      annotations: arbAnnotationsJson
    }),
    unknownFields
  )
  .map(([config, layers, optional, unknown]) => ({ schemaVersion: 2, config, layers, ...optional, ...unknown }))

/** Valid image indexes (decoded values, unknown fields kept). */
export const arbImageIndex: fc.Arbitrary<ImageIndex.ImageIndex> = arbImageIndexJson.map(
  Schema.decodeUnknownSync(ImageIndex.ImageIndex, preserve)
)
