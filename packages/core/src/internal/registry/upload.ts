/** @internal */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Digest from "../../Digest.js"
import { RegistryError } from "../../Errors.js"
import type { Repository, UploadOutcome } from "../../RegistryClient.js"
import * as Http from "./http.js"
import { joined } from "../bytes.js"
import {
  BodyFailed,
  checkRepository,
  failWith,
  protocolError,
  pullScope,
  pushScope,
  registryOf,
  repositoryPattern
} from "./protocol.js"
import type { Transport } from "./transport.js"

/** The size of each PATCH when a registry asks for chunked uploads (more when it asks for more). */
const defaultChunkBytes = 8 * 1024 * 1024
/** The least size of a PATCH when the registry names its minimum: fewer, larger requests. */
const minChunkBytes = 1024 * 1024

/** Blobs into a registry: HEAD, then a mount, a monolithic PUT, or PATCHes in chunks. @internal */
export const make = (
  transport: Transport,
  headBlobIn: (
    registry: string,
    repository: Repository,
    digest: Digest.Digest,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<Option.Option<number>, RegistryError>,
  /** Whether the HttpClient is done with each buffer of a streamed body before it pulls the next. */
  sendsAsPulled: boolean
) => {
  const { send, retrying } = transport

  const uploadBlob = <E>(
    repository: Repository,
    descriptor: { readonly digest: Digest.Digest; readonly size: number },
    content: (options?: { readonly reuseBuffers?: boolean | undefined }) => Stream.Stream<Uint8Array, E>,
    uploadOptions?: { readonly mountFrom?: string | undefined }
  ): Effect.Effect<UploadOutcome, E | RegistryError> =>
    Effect.gen(function* () {
      yield* checkRepository(repository)
      const registry = registryOf(repository)
      const name = repository.repository
      const mountFrom = uploadOptions?.mountFrom
      const mounting = mountFrom !== undefined && mountFrom !== name && repositoryPattern.test(mountFrom)
      const scopes = mounting ? [pushScope(name), pullScope(mountFrom)] : [pushScope(name)]
      const present = yield* headBlobIn(registry, repository, descriptor.digest, scopes)
      if (Option.isSome(present)) return "present" as const

      // Why the body failed, when it did: the caller's stream, or a size other than the descriptor's.
      let contentFailure: Option.Option<E> = Option.none()
      let sizeProblem: string | undefined
      // `reuseBuffers` only where each buffer is sent before the next is pulled: not for chunks, which gather.
      const guarded = (reuseBuffers: boolean): Stream.Stream<Uint8Array, BodyFailed> =>
        Stream.suspend(() => {
          let sent = 0
          return content({ reuseBuffers }).pipe(
            Stream.mapError((error) => {
              contentFailure = Option.some(error)
              return new BodyFailed()
            }),
            // The size is counted per chunk of buffers, synchronously; a stream too long fails at once.
            Stream.mapChunksEffect((chunk) => {
              for (const buffer of chunk) sent += buffer.length
              if (sent > descriptor.size) {
                sizeProblem = `the content is longer than the descriptor's size, ${descriptor.size} bytes`
                return Effect.fail(new BodyFailed())
              }
              return Effect.succeed(chunk)
            }),
            Stream.concat(
              Stream.suspend(() => {
                if (sent === descriptor.size) return Stream.empty
                sizeProblem = `the content is ${sent} bytes, not the descriptor's size, ${descriptor.size} bytes`
                return Stream.fail(new BodyFailed())
              })
            )
          )
        })

      const startSession = (mount: boolean) =>
        Effect.gen(function* () {
          const query = mount
            ? `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(mountFrom ?? "")}`
            : ""
          const response = yield* send(registry, {
            method: "POST",
            url: `/v2/${name}/blobs/uploads/${query}`,
            headers: { "content-length": "0" },
            scopes
          })
          if (mount && response.status === 201) {
            yield* Http.discard(response)
            return { _tag: "Mounted" as const }
          }
          if (response.status !== 202) return yield* failWith(registry, response)
          yield* Http.discard(response)
          const at = Http.location(response)
          if (at === undefined) {
            return yield* Effect.fail(protocolError(registry, response, "the upload session has no Location"))
          }
          const minimum = Http.header(response, "oci-chunk-min-length")
          return {
            _tag: "Session" as const,
            location: at,
            chunkMin: minimum !== undefined && /^\d+$/.test(minimum) ? Number(minimum) : undefined
          }
        })

      const withDigest = (url: string): string =>
        `${url}${url.includes("?") ? "&" : "?"}digest=${encodeURIComponent(descriptor.digest)}`

      const finish = (response: HttpClientResponse.HttpClientResponse) =>
        response.status === 201 || response.status === 204
          ? Effect.as(Http.discard(response), "uploaded" as const)
          : failWith(registry, response)

      const chunked = (start: string, chunkMin: number | undefined) =>
        Effect.gen(function* () {
          const chunkBytes = chunkMin === undefined ? defaultChunkBytes : Math.max(chunkMin, minChunkBytes)
          let at = start
          let offset = 0
          const patch = (bytes: Uint8Array) =>
            Effect.gen(function* () {
              const response = yield* send(registry, {
                method: "PATCH",
                url: at,
                headers: {
                  "content-range": `${offset}-${offset + bytes.length - 1}`,
                  "content-type": "application/octet-stream"
                },
                body: () => HttpBody.uint8Array(bytes, "application/octet-stream"),
                scopes
              })
              if (response.status !== 202) return yield* failWith(registry, response)
              yield* Http.discard(response)
              at = Http.location(response) ?? at
              offset += bytes.length
            })
          let pending: Array<Uint8Array> = []
          let pendingBytes = 0
          const flush = (all: boolean) =>
            Effect.gen(function* () {
              while (pendingBytes >= chunkBytes || (all && pendingBytes > 0)) {
                const buffer = joined(pending)
                const size = Math.min(chunkBytes, buffer.length)
                yield* patch(buffer.subarray(0, size))
                const rest = buffer.subarray(size)
                pending = rest.length > 0 ? [rest] : []
                pendingBytes = rest.length
              }
            })
          yield* guarded(false).pipe(
            Stream.runForEach((chunk) => {
              pending.push(chunk)
              pendingBytes += chunk.length
              return flush(false)
            })
          )
          yield* flush(true)
          const response = yield* send(registry, {
            method: "PUT",
            url: withDigest(at),
            headers: { "content-length": "0" },
            scopes
          })
          return yield* finish(response)
        })

      const once = Effect.gen(function* () {
        contentFailure = Option.none()
        sizeProblem = undefined
        const session = yield* startSession(mounting)
        if (session._tag === "Mounted") return "mounted" as const
        if (session.chunkMin !== undefined) return yield* chunked(session.location, session.chunkMin)
        const response = yield* send(registry, {
          method: "PUT",
          url: withDigest(session.location),
          headers: descriptor.size === 0 ? { "content-length": "0" } : undefined,
          body: () =>
            descriptor.size === 0
              ? HttpBody.empty
              : HttpBody.stream(guarded(sendsAsPulled), "application/octet-stream", descriptor.size),
          scopes
        })
        if (response.status === 416) {
          // The registry takes no monolithic upload: start over in chunks.
          yield* Http.discard(response)
          const fresh = yield* startSession(false)
          if (fresh._tag === "Mounted") return "mounted" as const
          return yield* chunked(fresh.location, fresh.chunkMin)
        }
        return yield* finish(response)
      })

      return yield* retrying(once).pipe(
        Effect.catchIf(
          (failure): failure is BodyFailed => failure._tag === "BodyFailed",
          (): Effect.Effect<never, E | RegistryError> => {
            const failed = contentFailure
            if (Option.isSome(failed)) return Effect.fail(failed.value)
            return Effect.fail(
              new RegistryError({
                registry,
                reason: "digest-mismatch",
                detail: sizeProblem ?? "the content could not be sent"
              })
            )
          }
        )
      )
    }).pipe(Effect.withSpan("RegistryClient.uploadBlob"))

  return { uploadBlob }
}
