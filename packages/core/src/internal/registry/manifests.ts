/** @internal */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { RegistryError } from "../../Errors.js"
import type { Hasher } from "../../Hasher.js"
import * as MediaType from "../../MediaType.js"
import type { Manifest, Repository } from "../../RegistryClient.js"
import * as Http from "./http.js"
import {
  acceptManifests,
  type Call,
  checkReference,
  contentTypeOf,
  decodeDescriptor,
  decodeDigest,
  decodeJson,
  failWith,
  manifestPath,
  maxManifestBytes,
  protocolError,
  pullScope,
  pushScope,
  readDocument,
  registryOf,
  schema1Detail,
  schema1MediaTypes
} from "./protocol.js"
import type { Transport } from "./transport.js"

const ManifestFields = Schema.Struct({
  schemaVersion: Schema.optional(Schema.Unknown),
  mediaType: Schema.optional(Schema.Unknown),
  manifests: Schema.optional(Schema.Unknown),
  config: Schema.optional(Schema.Unknown),
  layers: Schema.optional(Schema.Unknown)
})

/** Getting, checking and putting manifests. @internal */
export const make = (transport: Transport, hasher: Hasher) => {
  const { send, retrying, orDieBody } = transport

  const hashOf = (algorithm: Digest.Algorithm, bytes: Uint8Array): Effect.Effect<string> => {
    const hash = hasher.make(algorithm)
    hash.update(bytes)
    return Effect.map(hash.digest, (hex) => `${algorithm}:${hex}`)
  }

  /**
   * The descriptor of manifest bytes as received: the media type the document states, else the content
   * type, else what its fields say; the digest over the exact bytes, checked against the reference and
   * `Docker-Content-Digest`.
   */
  const describeManifest = (
    registry: string,
    response: HttpClientResponse.HttpClientResponse,
    reference: string,
    bytes: Uint8Array
  ): Effect.Effect<Descriptor.Descriptor, RegistryError> =>
    Effect.gen(function* () {
      const contentType = contentTypeOf(response)
      if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
        return yield* Effect.fail(protocolError(registry, response, schema1Detail))
      }
      const fields = yield* decodeJson(registry, response, bytes, ManifestFields, "the manifest")
      if (fields.schemaVersion === 1) return yield* Effect.fail(protocolError(registry, response, schema1Detail))
      const mediaType =
        typeof fields.mediaType === "string"
          ? fields.mediaType
          : contentType !== undefined && contentType !== "application/json" && contentType !== "text/plain"
            ? contentType
            : fields.manifests !== undefined
              ? MediaType.ociIndex
              : MediaType.ociManifest
      const expected = Digest.parse(reference)
      const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
      const algorithm = Option.match(expected, {
        onSome: (digest) => Digest.algorithm(digest),
        onNone: () => Option.match(stated, { onSome: Digest.algorithm, onNone: () => "sha256" })
      })
      if (!Digest.isAlgorithm(algorithm)) {
        return yield* Effect.fail(
          protocolError(registry, response, `ocidx cannot verify ${JSON.stringify(algorithm)} digests`)
        )
      }
      const digest = yield* hashOf(algorithm, bytes)
      for (const named of [expected, stated]) {
        if (Option.isNone(named) || !Digest.isVerifiable(named.value)) continue
        const alg = Digest.algorithm(named.value)
        const actual = alg === algorithm || !Digest.isAlgorithm(alg) ? digest : yield* hashOf(alg, bytes)
        if (actual !== named.value) {
          return yield* Effect.fail(
            protocolError(
              registry,
              response,
              `the manifest's bytes have the digest ${actual}, not ${named.value}`,
              "digest-mismatch"
            )
          )
        }
      }
      return yield* decodeDescriptor({ mediaType, digest, size: bytes.length }).pipe(
        Effect.mapError(() =>
          protocolError(registry, response, `the manifest's media type ${JSON.stringify(mediaType)} is not valid`)
        )
      )
    })

  const getManifest = Effect.fn("RegistryClient.getManifest")(function* (repository: Repository, reference: string) {
    yield* checkReference(repository, reference)
    const registry = registryOf(repository)
    const call: Call = {
      method: "GET",
      url: manifestPath(repository, reference),
      headers: { accept: acceptManifests },
      scopes: [pullScope(repository.repository)]
    }
    const { response, bytes } = yield* orDieBody(
      retrying(
        Effect.gen(function* () {
          const response = yield* send(registry, call)
          if (response.status !== 200) return yield* failWith(registry, response)
          const contentType = contentTypeOf(response)
          if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
            yield* Http.discard(response)
            return yield* Effect.fail(protocolError(registry, response, schema1Detail))
          }
          const bytes = yield* readDocument(registry, response, maxManifestBytes, "too-large")
          return { response, bytes }
        })
      )
    )
    const descriptor = yield* describeManifest(registry, response, reference, bytes)
    const manifest: Manifest = { descriptor, bytes }
    return manifest
  })

  const headManifest = Effect.fn("RegistryClient.headManifest")(function* (repository: Repository, reference: string) {
    yield* checkReference(repository, reference)
    const registry = registryOf(repository)
    const response = yield* orDieBody(
      retrying(
        send(registry, {
          method: "HEAD",
          url: manifestPath(repository, reference),
          headers: { accept: acceptManifests },
          scopes: [pullScope(repository.repository)]
        })
      )
    )
    if (response.status === 404) return Option.none<Descriptor.Descriptor>()
    if (response.status !== 200) return yield* failWith(registry, response)
    const contentType = contentTypeOf(response)
    if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
      return yield* Effect.fail(protocolError(registry, response, schema1Detail))
    }
    const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
    const expected = Digest.parse(reference)
    if (Option.isSome(expected) && Option.isSome(stated) && expected.value !== stated.value) {
      return yield* Effect.fail(
        protocolError(
          registry,
          response,
          `the registry names the manifest ${stated.value}, not ${expected.value}`,
          "digest-mismatch"
        )
      )
    }
    const digest = Option.orElse(expected, () => stated)
    const length = Http.header(response, "content-length")
    const known =
      length !== undefined && /^\d+$/.test(length) && contentType !== undefined && contentType !== "application/json"
    if (Option.isNone(digest) || !known) {
      // Without its digest, size or type in the headers, the manifest itself says.
      const manifest = yield* getManifest(repository, reference)
      return Option.some(manifest.descriptor)
    }
    const descriptor = yield* decodeDescriptor({
      mediaType: contentType,
      digest: digest.value,
      size: Number(length)
    }).pipe(Effect.mapError(() => protocolError(registry, response, "the manifest's headers are not valid")))
    return Option.some(descriptor)
  })

  const putManifest = Effect.fn("RegistryClient.putManifest")(function* (
    repository: Repository,
    reference: string,
    manifest: { readonly mediaType: string; readonly bytes: Uint8Array }
  ) {
    yield* checkReference(repository, reference)
    const registry = registryOf(repository)
    if (manifest.bytes.length > maxManifestBytes) {
      return yield* Effect.fail(
        new RegistryError({
          registry,
          reason: "too-large",
          detail: `the manifest is ${manifest.bytes.length} bytes, more than ${maxManifestBytes}`
        })
      )
    }
    const expected = Digest.parse(reference)
    const algorithm = Option.match(expected, { onSome: Digest.algorithm, onNone: () => "sha256" })
    if (!Digest.isAlgorithm(algorithm)) {
      return yield* Effect.fail(
        new RegistryError({
          registry,
          reason: "protocol",
          detail: `ocidx cannot compute ${JSON.stringify(algorithm)} digests`
        })
      )
    }
    const computed = yield* hashOf(algorithm, manifest.bytes)
    const digest = yield* decodeDigest(registry, computed)
    if (Option.isSome(expected) && expected.value !== digest) {
      return yield* Effect.fail(
        new RegistryError({
          registry,
          reason: "digest-mismatch",
          detail: `the manifest's bytes have the digest ${digest}, not ${expected.value}`
        })
      )
    }
    const bytes = manifest.bytes
    const response = yield* orDieBody(
      retrying(
        send(registry, {
          method: "PUT",
          url: manifestPath(repository, reference),
          headers: { "content-type": manifest.mediaType },
          body: () => HttpBody.uint8Array(bytes, manifest.mediaType),
          scopes: [pushScope(repository.repository)]
        })
      )
    )
    if (response.status !== 201 && response.status !== 200) return yield* failWith(registry, response)
    yield* Http.discard(response)
    const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
    if (Option.isSome(stated) && Digest.algorithm(stated.value) === algorithm && stated.value !== digest) {
      return yield* Effect.fail(
        protocolError(
          registry,
          response,
          `the registry stored the manifest as ${stated.value}, not ${digest}`,
          "digest-mismatch"
        )
      )
    }
    return digest
  })

  return { getManifest, headManifest, putManifest }
}
