/** @internal */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { RegistryError } from "../../Errors.js"
import * as MediaType from "../../MediaType.js"
import type { Manifest, Repository } from "../../RegistryClient.js"
import * as Http from "./http.js"
import {
  type Call,
  checkRepository,
  contentTypeOf,
  decodeJson,
  failWith,
  maxListBytes,
  pullScope,
  readDocument,
  registryOf
} from "./protocol.js"
import type { Transport } from "./transport.js"

const TagList = Schema.Struct({ tags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))) })

const IndexManifests = Schema.Struct({ manifests: Schema.Array(Descriptor.Descriptor) })

/** Tags and referrers, page by page. @internal */
export const make = (
  transport: Transport,
  getManifest: (repository: Repository, reference: string) => Effect.Effect<Manifest, RegistryError>
) => {
  const { send, retrying, orDieBody } = transport

  const listTags = Effect.fn("RegistryClient.listTags")(function* (repository: Repository) {
    yield* checkRepository(repository)
    const registry = registryOf(repository)
    const tags: Array<string> = []
    let url: string | undefined = `/v2/${repository.repository}/tags/list`
    for (let page = 0; url !== undefined; page++) {
      if (page >= 10_000) {
        return yield* Effect.fail(new RegistryError({ registry, reason: "protocol", detail: "endless tag pages" }))
      }
      const call: Call = { method: "GET", url, scopes: [pullScope(repository.repository)] }
      const { response, bytes } = yield* orDieBody(
        retrying(
          Effect.gen(function* () {
            const response = yield* send(registry, call)
            if (response.status !== 200) return yield* failWith(registry, response)
            return { response, bytes: yield* readDocument(registry, response, maxListBytes) }
          })
        )
      )
      const list = yield* decodeJson(registry, response, bytes, TagList, "the tag list")
      for (const tag of list.tags ?? []) tags.push(tag)
      url = Http.nextLink(response)
    }
    return tags
  })

  const referrers = Effect.fn("RegistryClient.referrers")(function* (
    repository: Repository,
    digest: Digest.Digest,
    referrerOptions?: { readonly artifactType?: string | undefined }
  ) {
    yield* checkRepository(repository)
    const registry = registryOf(repository)
    const artifactType = referrerOptions?.artifactType
    const keep = (descriptors: ReadonlyArray<Descriptor.Descriptor>) =>
      artifactType === undefined ? descriptors : descriptors.filter((d) => d.artifactType === artifactType)
    const found: Array<Descriptor.Descriptor> = []
    let url: string | undefined =
      `/v2/${repository.repository}/referrers/${digest}` +
      (artifactType === undefined ? "" : `?artifactType=${encodeURIComponent(artifactType)}`)
    for (let page = 0; url !== undefined; page++) {
      if (page >= 1_000) {
        return yield* Effect.fail(new RegistryError({ registry, reason: "protocol", detail: "endless referrer pages" }))
      }
      const call: Call = {
        method: "GET",
        url,
        headers: { accept: MediaType.ociIndex },
        scopes: [pullScope(repository.repository)]
      }
      const answer = yield* orDieBody(
        retrying(
          Effect.gen(function* () {
            const response = yield* send(registry, call)
            if (response.status === 404 || response.status === 405 || response.status === 400) {
              yield* Http.discard(response)
              return undefined
            }
            if (response.status !== 200) return yield* failWith(registry, response)
            if (contentTypeOf(response) !== MediaType.ociIndex) {
              yield* Http.discard(response)
              return undefined
            }
            return { response, bytes: yield* readDocument(registry, response, maxListBytes) }
          })
        )
      )
      if (answer === undefined) {
        if (page > 0) break
        return yield* referrersByTag(repository, digest, keep)
      }
      const index = yield* decodeJson(registry, answer.response, answer.bytes, IndexManifests, "the referrers index")
      const filtered = (Http.header(answer.response, "oci-filters-applied") ?? "").split(",").includes("artifactType")
      for (const descriptor of filtered ? index.manifests : keep(index.manifests)) found.push(descriptor)
      url = Http.nextLink(answer.response)
    }
    return found
  })

  /** The referrers tag schema: an index tagged `<alg>-<hex>`, kept by registries without the API. */
  const referrersByTag = (
    repository: Repository,
    digest: Digest.Digest,
    keep: (descriptors: ReadonlyArray<Descriptor.Descriptor>) => ReadonlyArray<Descriptor.Descriptor>
  ): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, RegistryError> =>
    Effect.gen(function* () {
      const tag = `${Digest.algorithm(digest)}-${Digest.encoded(digest)}`.slice(0, 128)
      const manifest = yield* getManifest(repository, tag).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => error.reason === "not-found",
          () => Effect.succeed(Option.none<Manifest>())
        )
      )
      if (Option.isNone(manifest) || !MediaType.isIndex(manifest.value.descriptor.mediaType)) return []
      const index = yield* Effect.try({
        try: () => JSON.parse(new TextDecoder().decode(manifest.value.bytes)),
        catch: () =>
          new RegistryError({
            registry: registryOf(repository),
            reason: "protocol",
            detail: `the referrers tag ${tag} is not JSON`
          })
      }).pipe(
        Effect.flatMap(Schema.decodeUnknown(IndexManifests)),
        Effect.mapError((error) =>
          error._tag === "RegistryError"
            ? error
            : new RegistryError({
                registry: registryOf(repository),
                reason: "protocol",
                detail: `the referrers tag ${tag} is not an index of descriptors`
              })
        )
      )
      return keep(index.manifests)
    })

  return { listTags, referrers }
}
