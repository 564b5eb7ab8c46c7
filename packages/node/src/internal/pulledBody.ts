/** @internal */
import { getDefaultHighWaterMark } from "node:stream"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * A stream as an async iterable that pulls the stream only when asked for its next buffer, and never ahead.
 * undici asks for the next buffer of a body only once it has written the last one to the socket and, when the
 * socket buffered it, once the socket has drained: so a buffer is sent before the stream is pulled again and
 * may be refilled then. (platform-node's Readable adapter reads one pull ahead into its own buffer.) That holds
 * for a buffer at least as large as the socket's high-water mark, whose write always reports a full socket; a
 * smaller one is handed over as a copy, since undici asks for the next at once. The pull runs in the scope;
 * its failure is the iterable's, as the adapter's was.
 */
const socketHighWaterMark = getDefaultHighWaterMark(false)

const pulledIterable = <E>(
  stream: Stream.Stream<Uint8Array, E>
): Effect.Effect<AsyncIterable<Uint8Array>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    let pending: Array<Uint8Array> = []
    let done = false
    const next = (): Promise<IteratorResult<Uint8Array>> => {
      const buffer = pending.shift()
      if (buffer !== undefined) {
        return Promise.resolve({
          done: false,
          value: buffer.length < socketHighWaterMark ? new Uint8Array(buffer) : buffer
        })
      }
      if (done) return Promise.resolve({ done: true, value: undefined })
      return new Promise((resolve, reject) => {
        runFork(pull).addObserver((exit) => {
          if (Exit.isSuccess(exit)) {
            pending = Chunk.toArray(exit.value)
            resolve(next())
            return
          }
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure) && Option.isNone(failure.value)) {
            done = true
            resolve({ done: true, value: undefined })
            return
          }
          done = true
          reject(
            Option.isSome(failure) && Option.isSome(failure.value) ? failure.value.value : Cause.squash(exit.cause)
          )
        })
      })
    }
    return { [Symbol.asyncIterator]: () => ({ next }) }
  })

/**
 * `client`, with each streamed request body handed to it as a pulled iterable (a raw body undici takes as it
 * is): its buffers are written before the next is pulled. The stream's resources last as long as the request.
 * @internal
 */
export const sendAsPulled = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (r) => {
        const body = r.body
        if (body._tag !== "Stream") return client.execute(r)
        return Effect.scoped(
          Effect.flatMap(pulledIterable(body.stream), (iterable) =>
            client.execute(
              HttpClientRequest.setBody(
                r,
                HttpBody.raw(iterable, { contentType: body.contentType, contentLength: body.contentLength })
              )
            )
          )
        )
      }),
    Effect.succeed
  )
