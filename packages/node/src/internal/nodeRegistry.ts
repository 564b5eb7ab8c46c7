/** @internal */
import { rootCertificates } from "node:tls"
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodePath from "@effect/platform-node/NodePath"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Credentials from "@ocidx/core/Credentials"
import { ReadError } from "@ocidx/core/Errors"
import * as ImageReference from "@ocidx/core/ImageReference"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeHasher from "../NodeHasher.js"
import type { Options } from "../NodeRegistry.js"
import * as StreamingUpload from "./streamingUpload.js"

/** The hosts (`host[:port]`, as in a URL) whose certificate is not verified. */
const insecureHosts = (insecure: ReadonlyArray<string>): ReadonlySet<string> =>
  new Set(insecure.map((registry) => ImageReference.endpoint(registry).toLowerCase()))

/**
 * Node's http(s) client: the system CAs plus `caFile`; with `insecure`, an agent that accepts any
 * certificate, used for those registries only. Streamed bodies (blob uploads) are sent with backpressure.
 */
const httpClient = (options: Options | undefined): Layer.Layer<HttpClient.HttpClient, ReadError> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.gen(function* () {
      const caFile = options?.caFile
      let ca: Array<string> | undefined
      if (caFile !== undefined) {
        const fs = yield* FileSystem.FileSystem
        const extra = yield* fs.readFileString(caFile).pipe(Effect.mapError(ReadError.fromPlatformError(caFile)))
        ca = [...rootCertificates, extra]
      }
      const insecure = options?.insecure ?? false
      // Keep-alive: a copy makes many requests to one registry, and a new TLS handshake for each costs.
      const verified = yield* NodeHttpClient.makeAgent(ca === undefined ? { keepAlive: true } : { ca, keepAlive: true })
      const clientOf = (agent: NodeHttpClient.HttpAgent) =>
        Effect.map(Effect.provideService(NodeHttpClient.make, NodeHttpClient.HttpAgent, agent), (client) =>
          StreamingUpload.withBackpressure(client, agent)
        )
      const secure = yield* clientOf(verified)
      if (insecure === false || (insecure !== true && insecure.length === 0)) return secure
      const unverified = yield* NodeHttpClient.makeAgent({
        ...(ca === undefined ? {} : { ca }),
        keepAlive: true,
        rejectUnauthorized: false
      })
      const lax = yield* clientOf(unverified)
      if (insecure === true) return lax
      const hosts = insecureHosts(insecure)
      const pick = (url: string): HttpClient.HttpClient => {
        try {
          return hosts.has(new URL(url).host.toLowerCase()) ? lax : secure
        } catch {
          return secure
        }
      }
      const dispatch: HttpClient.HttpClient = HttpClient.makeWith(
        (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
          Effect.flatMap(request, (r) => pick(r.url).execute(r)),
        Effect.succeed
      )
      return dispatch
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))

/** @internal */
export const layerWithoutCredentials = (
  options?: Options
): Layer.Layer<RegistryClient.RegistryClient, ReadError, Credentials.CredentialStore> =>
  RegistryClient.layer(options).pipe(Layer.provide(Layer.merge(httpClient(options), NodeHasher.layer)))

/** @internal */
export const layer = (options?: Options): Layer.Layer<RegistryClient.RegistryClient, ReadError> =>
  layerWithoutCredentials(options).pipe(
    Layer.provide(
      Credentials.layer(options?.credentials).pipe(
        Layer.provide(
          Layer.mergeAll(NodeCommandExecutor.layer, NodePath.layer).pipe(Layer.provideMerge(NodeFileSystem.layer))
        )
      )
    )
  )
