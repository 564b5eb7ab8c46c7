/** @internal */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Digest from "../../Digest.js"
import { RegistryError } from "../../Errors.js"
import type { Hasher } from "../../Hasher.js"
import type { Repository } from "../../RegistryClient.js"
import * as Http from "./http.js"
import { checkRepository, failWith, protocolError, pullScope, registryOf } from "./protocol.js"
import type { Transport } from "./transport.js"

/** Blobs out of a registry: whether one is there, and its bytes, verified while they stream and resumed after a break. @internal */
export const make = (transport: Transport, hasher: Hasher) => {
  const { send, retrying, orDieBody, policy } = transport

  const headBlobIn = (
    registry: string,
    repository: Repository,
    digest: Digest.Digest,
    scopes: ReadonlyArray<string>
  ): Effect.Effect<Option.Option<number>, RegistryError> =>
    Effect.gen(function* () {
      const response = yield* orDieBody(
        retrying(send(registry, { method: "HEAD", url: `/v2/${repository.repository}/blobs/${digest}`, scopes }))
      )
      if (response.status === 404) return Option.none()
      if (response.status !== 200) return yield* failWith(registry, response)
      const length = Http.header(response, "content-length")
      if (length === undefined || !/^\d+$/.test(length)) {
        return yield* Effect.fail(protocolError(registry, response, "the blob's size is missing"))
      }
      return Option.some(Number(length))
    })

  const headBlob = Effect.fn("RegistryClient.headBlob")(function* (repository: Repository, digest: Digest.Digest) {
    yield* checkRepository(repository)
    return yield* headBlobIn(registryOf(repository), repository, digest, [pullScope(repository.repository)])
  })

  /**
   * A blob's bytes, resumed after a break and never more than its size. With `verify`, hashed as they stream
   * and failing at the end unless they have the digest; without, only their size is checked.
   */
  const fetchBlob = (
    repository: Repository,
    descriptor: { readonly digest: Digest.Digest; readonly size: number },
    verify: boolean
  ): Stream.Stream<Uint8Array, RegistryError> =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        yield* checkRepository(repository)
        const registry = registryOf(repository)
        const algorithm = Digest.algorithm(descriptor.digest)
        if (!Digest.isAlgorithm(algorithm)) {
          return yield* Effect.fail(
            new RegistryError({
              registry,
              reason: "protocol",
              detail: `ocidx cannot verify ${JSON.stringify(algorithm)} digests`
            })
          )
        }
        const hash = verify ? hasher.make(algorithm) : undefined
        const url = `/v2/${repository.repository}/blobs/${descriptor.digest}`
        let received = 0
        let lastRequest = `GET ${url}`
        const mismatch = (detail: string): RegistryError =>
          new RegistryError({ registry, reason: "digest-mismatch", request: lastRequest, detail })

        /** The blob from `from` on: a `Range` request after a broken connection, the rest skipped if ignored. */
        const open = (from: number) =>
          orDieBody(
            retrying(
              Effect.gen(function* () {
                const response = yield* send(registry, {
                  method: "GET",
                  url,
                  headers: from > 0 ? { range: `bytes=${from}-` } : undefined,
                  scopes: [pullScope(repository.repository)]
                })
                lastRequest = Http.describeRequest("GET", response.request.url)
                if (response.status === 200) return { response, skip: from }
                if (response.status === 206 && from > 0) {
                  const range = /^bytes (\d+)-/.exec(Http.header(response, "content-range") ?? "")
                  if (range !== null && Number(range[1]) === from) return { response, skip: 0 }
                  yield* Http.discard(response)
                  return yield* Effect.fail(protocolError(registry, response, "the registry sent another range"))
                }
                return yield* failWith(registry, response)
              })
            )
          )

        // A broken connection resumes where it broke; the schedule starts over once bytes flow again.
        const resume = yield* Schedule.driver(
          Schedule.exponential(policy.baseDelay, 2).pipe(
            Schedule.jittered,
            Schedule.union(Schedule.spaced(policy.maxDelay)),
            Schedule.intersect(Schedule.recurs(policy.attempts - 1))
          )
        )
        const kept = yield* Effect.scope
        // The connection being read, in a scope of its own, closed when a break replaces it.
        let current: { readonly body: Http.WatchedBody; readonly scope: Scope.CloseableScope } | undefined
        let toSkip = 0
        let broke = false
        const connect = Effect.gen(function* () {
          const scope = yield* Scope.fork(kept, ExecutionStrategy.sequential)
          const { response, skip } = yield* open(received)
          toSkip = skip
          current = { body: yield* Scope.extend(Http.watchBody(response, policy.timeout), scope), scope }
          return current.body
        })
        const disconnect = Effect.suspend(() => {
          const closing = current
          current = undefined
          return closing === undefined ? Effect.void : Scope.close(closing.scope, Exit.void)
        })

        /** At the end: the size and, with `verify`, the digest. */
        const verified = Effect.gen(function* () {
          if (received !== descriptor.size) {
            return yield* Effect.fail(mismatch(`the blob is ${received} bytes, not its size, ${descriptor.size} bytes`))
          }
          if (hash === undefined) return
          const digest = `${algorithm}:${yield* hash.digest}`
          if (digest !== descriptor.digest) {
            return yield* Effect.fail(mismatch(`the blob's bytes have the digest ${digest}`))
          }
        })

        /**
         * The next buffers, everything read since the last pull, hashed and size-checked synchronously: one
         * step per batch of socket reads (a chain of stream operators per 64 KiB read made more garbage than
         * the bytes it moved); `undefined` once the blob ended and checked out.
         */
        const step: Effect.Effect<Chunk.Chunk<Uint8Array> | undefined, RegistryError> = Effect.gen(function* () {
          while (true) {
            const body = current?.body ?? (yield* connect)
            const read = yield* Effect.either(body.next)
            if (Either.isLeft(read)) {
              yield* disconnect
              broke = true
              const again = yield* Effect.either(resume.next(read.left))
              if (Either.isLeft(again)) {
                return yield* Effect.fail(
                  new RegistryError({
                    registry,
                    reason: "unavailable",
                    request: lastRequest,
                    detail: `the connection broke after ${received} of ${descriptor.size} bytes, and kept breaking`
                  })
                )
              }
              continue
            }
            if (read.right === undefined) {
              yield* disconnect
              yield* verified
              return undefined
            }
            const out: Array<Uint8Array> = []
            for (const buffer of read.right) {
              let bytes = buffer
              if (toSkip > 0) {
                if (bytes.length <= toSkip) {
                  toSkip -= bytes.length
                  continue
                }
                bytes = bytes.subarray(toSkip)
                toSkip = 0
              }
              if (received + bytes.length > descriptor.size) {
                return yield* Effect.fail(mismatch(`the blob is longer than its size, ${descriptor.size} bytes`))
              }
              received += bytes.length
              hash?.update(bytes)
              out.push(bytes)
            }
            if (out.length === 0) continue
            if (broke) {
              broke = false
              yield* resume.reset
            }
            return Chunk.unsafeFromArray(out)
          }
        })
        return Stream.repeatEffectChunkOption(
          Effect.flatMap(Effect.mapError(step, Option.some), (chunk) =>
            chunk === undefined ? Effect.fail(Option.none()) : Effect.succeed(chunk)
          )
        )
      }).pipe(Effect.withSpan("RegistryClient.getBlob"))
    )

  const getBlob = (
    repository: Repository,
    descriptor: { readonly digest: Digest.Digest; readonly size: number }
  ): Stream.Stream<Uint8Array, RegistryError> => fetchBlob(repository, descriptor, true)

  /**
   * The same bytes, size-checked but not hashed: only for a destination that verifies the digest itself as
   * it writes (a layout's BlobStore.put), so a pull hashes every byte once, not twice.
   */
  const getBlobUnverified = (
    repository: Repository,
    descriptor: { readonly digest: Digest.Digest; readonly size: number }
  ): Stream.Stream<Uint8Array, RegistryError> => fetchBlob(repository, descriptor, false)

  return { headBlobIn, headBlob, getBlob, getBlobUnverified }
}
