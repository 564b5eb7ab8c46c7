/** @internal */
import type { HttpClient } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CredentialStore } from "../../Credentials.js"
import { Hasher } from "../../Hasher.js"
import * as ImageReference from "../../ImageReference.js"
import type { Options, RegistryClient } from "../../RegistryClient.js"
import { RegistryClient as RegistryClientTag } from "../../RegistryClient.js"
import * as Blobs from "./blobs.js"
import * as Http from "./http.js"
import * as Lists from "./lists.js"
import * as Manifests from "./manifests.js"
import { failWith, protocolError } from "./protocol.js"
import * as Transport from "./transport.js"
import * as Upload from "./upload.js"

export { maxManifestBytes, type RetryPolicy } from "./protocol.js"

type GetBlob = RegistryClient["getBlob"]

/** The unverified blob download of each client made here; kept off the public interface. */
const unverifiedBlobs = new WeakMap<RegistryClient, GetBlob>()

/**
 * A blob download that checks the size but leaves the digest to the caller, for the copy engine when the
 * destination verifies as it writes (a layout). Any other client (the in-memory registry, a caller's own)
 * gives its verified `getBlob`. @internal
 */
export const unverifiedBlob = (client: RegistryClient): GetBlob => unverifiedBlobs.get(client) ?? client.getBlob

/** @internal */
export const make = (
  options?: Options
): Effect.Effect<RegistryClient, never, HttpClient.HttpClient | CredentialStore | Hasher> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const transport = yield* Transport.make(options)
    const { send, retrying, orDieBody } = transport
    const { getManifest, headManifest, putManifest } = Manifests.make(transport, hasher)
    const { headBlobIn, headBlob, getBlob, getBlobUnverified } = Blobs.make(transport, hasher)
    const { uploadBlob } = Upload.make(transport, headBlobIn, options?.reuseUploadBuffers === true)
    const { listTags, referrers } = Lists.make(transport, getManifest)

    const ping = Effect.fn("RegistryClient.ping")(function* (registryName: string) {
      const registry = ImageReference.normaliseRegistry(registryName)
      const response = yield* orDieBody(retrying(send(registry, { method: "GET", url: "/v2/", scopes: [] })))
      if (response.status === 404) {
        yield* Http.discard(response)
        return yield* Effect.fail(protocolError(registry, response, "there is no registry API (/v2/) at this address"))
      }
      if (response.status !== 200) return yield* failWith(registry, response)
      yield* Http.discard(response)
    })

    const registryClient = RegistryClientTag.of({
      ping,
      getManifest,
      headManifest,
      putManifest,
      headBlob,
      getBlob,
      uploadBlob,
      listTags,
      referrers
    })
    unverifiedBlobs.set(registryClient, getBlobUnverified)
    return registryClient
  })

/** @internal */
export const layer = (
  options?: Options
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | CredentialStore | Hasher> =>
  Layer.effect(RegistryClientTag, make(options))
