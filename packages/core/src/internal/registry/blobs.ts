/** @internal */
import { Chunk, Effect, Option, Schedule, Stream } from "effect"
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
    Stream.unwrap(
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

        const part = Stream.suspend(() =>
          Stream.unwrap(
            Effect.map(open(received), ({ response, skip }) => {
              let toSkip = skip
              return response.stream.pipe(
                Stream.mapError((cause) => new Http.BodyInterrupted(cause)),
                // A connection that goes quiet is as broken as one that was reset.
                Stream.timeoutFail(() => new Http.BodyInterrupted("no bytes in time"), policy.timeout),
                // One step per chunk of buffers, the hash and the size checked synchronously: an Effect per
                // 64 KiB buffer cost more CPU than the hashing.
                Stream.mapChunksEffect((chunk): Effect.Effect<Chunk.Chunk<Uint8Array>, RegistryError> => {
                  const out: Array<Uint8Array> = []
                  for (const buffer of chunk) {
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
                      return Effect.fail(mismatch(`the blob is longer than its size, ${descriptor.size} bytes`))
                    }
                    received += bytes.length
                    hash?.update(bytes)
                    out.push(bytes)
                  }
                  return Effect.succeed(Chunk.unsafeFromArray(out))
                })
              )
            })
          )
        )

        const verified = Stream.fromEffect(
          Effect.gen(function* () {
            if (received !== descriptor.size) {
              return yield* Effect.fail(
                mismatch(`the blob is ${received} bytes, not its size, ${descriptor.size} bytes`)
              )
            }
            if (hash === undefined) return
            const digest = `${algorithm}:${yield* hash.digest}`
            if (digest !== descriptor.digest) {
              return yield* Effect.fail(mismatch(`the blob's bytes have the digest ${digest}`))
            }
          })
        ).pipe(Stream.drain)

        const resumed = part.pipe(
          // A broken connection resumes where it broke; the schedule starts over once bytes flow again.
          Stream.retry(
            Schedule.exponential(policy.baseDelay, 2).pipe(
              Schedule.jittered,
              Schedule.union(Schedule.spaced(policy.maxDelay)),
              Schedule.intersect(Schedule.recurs(policy.attempts - 1)),
              Schedule.whileInput((failure: RegistryError | Http.BodyInterrupted) => failure._tag === "BodyInterrupted")
            )
          ),
          Stream.catchTag("BodyInterrupted", () =>
            Stream.fail(
              new RegistryError({
                registry,
                reason: "unavailable",
                request: lastRequest,
                detail: `the connection broke after ${received} of ${descriptor.size} bytes, and kept breaking`
              })
            )
          )
        )
        return Stream.concat(resumed, verified)
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
