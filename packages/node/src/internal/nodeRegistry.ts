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
import * as Undici from "undici"
import * as NodeHasher from "../NodeHasher.js"
import type { Options } from "../NodeRegistry.js"
import { sendAsPulled } from "./pulledBody.js"

/** The hosts (`host[:port]`, as in a URL) whose certificate is not verified. */
const insecureHosts = (insecure: ReadonlyArray<string>): ReadonlySet<string> =>
  new Set(insecure.map((registry) => ImageReference.endpoint(registry).toLowerCase()))

/**
 * A connection pool (keep-alive: a copy makes many requests to one registry, and a new TLS handshake for each
 * costs), destroyed with the layer.
 */
const pool = (connect: Undici.buildConnector.BuildOptions) =>
  Effect.acquireRelease(
    Effect.sync(() => new Undici.Agent({ connect })),
    (agent) => Effect.promise(() => agent.destroy())
  )

/**
 * The http(s) client, on undici: the system CAs plus `caFile`; with `insecure`, a second pool that accepts any
 * certificate, used for those registries only.
 *
 * Not Node's http client: @effect/platform-node writes its streamed request bodies without waiting for 'drain'
 * after each chunk (a push to a slow registry held the whole layer in memory), and a 1 GiB pull through it
 * ran 100 full garbage collections where undici's ran two. undici pulls a body's stream as the socket takes it,
 * and with `sendAsPulled` no further: an upload refills one buffer.
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
      const secure = sendAsPulled(NodeHttpClient.makeUndici(yield* pool(ca === undefined ? {} : { ca })))
      if (insecure === false || (insecure !== true && insecure.length === 0)) return secure
      const lax = sendAsPulled(
        NodeHttpClient.makeUndici(yield* pool({ ...(ca === undefined ? {} : { ca }), rejectUnauthorized: false }))
      )
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
  // The client sends each buffer of a streamed body before it pulls the next (see sendAsPulled).
  RegistryClient.layer({ ...options, reuseUploadBuffers: true }).pipe(
    Layer.provide(Layer.merge(httpClient(options), NodeHasher.layer))
  )

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
