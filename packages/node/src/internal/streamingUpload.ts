/** @internal */
import * as Http from "node:http"
import * as Https from "node:https"
import { Readable } from "node:stream"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"

/*
 * Why this exists: @effect/platform-node writes a streamed body with NodeSink.fromWritable, which waits for
 * 'drain' only between the buffers of one chunk, never after a chunk's last one. A stream of one-buffer
 * chunks is then pulled as fast as it can be read, whatever the connection takes: pushing a layer to a
 * slow registry held the whole layer in memory. This sends streamed bodies itself, with the same agents,
 * and pulls the next chunk only once the request has room for it.
 */

/** Node statuses whose responses have no body: a web Response refuses one. */
const noBody = new Set([101, 204, 205, 304])

const transport = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Transport", cause })

/** The request's error if it has one, else why it can take no more. */
const closedCause = (nodeRequest: Http.ClientRequest): unknown =>
  nodeRequest.errored ?? Object.assign(new Error("the request was closed"), { code: "ECONNRESET" })

/**
 * Writes the buffers of one chunk, then waits until the request has room again (or fails): the next chunk
 * is pulled only then.
 */
const writeChunk = (
  nodeRequest: Http.ClientRequest,
  request: HttpClientRequest.HttpClientRequest,
  chunk: Chunk.Chunk<Uint8Array>
): Effect.Effect<void, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    if (nodeRequest.destroyed) return resume(Effect.fail(transport(request, closedCause(nodeRequest))))
    let room = true
    for (const buffer of chunk) room = nodeRequest.write(buffer)
    // A destroyed request refuses writes without an 'error' event, and never drains.
    if (nodeRequest.destroyed) return resume(Effect.fail(transport(request, closedCause(nodeRequest))))
    if (room) return resume(Effect.void)
    const settle = (effect: Effect.Effect<void, HttpClientError.RequestError>) => {
      nodeRequest.off("drain", onDrain)
      nodeRequest.off("error", onError)
      nodeRequest.off("close", onClose)
      resume(effect)
    }
    const onDrain = () => settle(Effect.void)
    const onError = (cause: unknown) => settle(Effect.fail(transport(request, cause)))
    const onClose = () => settle(Effect.fail(transport(request, closedCause(nodeRequest))))
    nodeRequest.on("drain", onDrain)
    nodeRequest.on("error", onError)
    nodeRequest.on("close", onClose)
    return Effect.sync(() => {
      nodeRequest.off("drain", onDrain)
      nodeRequest.off("error", onError)
      nodeRequest.off("close", onClose)
    })
  })

/** Ends the request and waits until all of it is handed to the connection, as the platform client does. */
const finish = (
  nodeRequest: Http.ClientRequest,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<void, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    const onFinish = () => {
      nodeRequest.off("error", onError)
      resume(Effect.void)
    }
    const onError = (cause: unknown) => {
      nodeRequest.off("finish", onFinish)
      resume(Effect.fail(transport(request, cause)))
    }
    nodeRequest.once("finish", onFinish)
    nodeRequest.once("error", onError)
    nodeRequest.end()
    return Effect.sync(() => {
      nodeRequest.off("finish", onFinish)
      nodeRequest.off("error", onError)
    })
  })

const waitForResponse = (
  nodeRequest: Http.ClientRequest,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<Http.IncomingMessage, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    const onResponse = (incoming: Http.IncomingMessage) => {
      nodeRequest.off("error", onError)
      resume(Effect.succeed(incoming))
    }
    const onError = (cause: unknown) => {
      nodeRequest.off("response", onResponse)
      resume(Effect.fail(transport(request, cause)))
    }
    nodeRequest.once("response", onResponse)
    nodeRequest.once("error", onError)
    return Effect.sync(() => {
      nodeRequest.off("response", onResponse)
      nodeRequest.off("error", onError)
    })
  })

/** The response as the platform's web one: small bodies only (upload answers), read through a web stream. */
const toResponse = (
  request: HttpClientRequest.HttpClientRequest,
  incoming: Http.IncomingMessage
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.try({
    try: () => {
      const headers = new globalThis.Headers()
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (value === undefined) continue
        for (const one of typeof value === "string" ? [value] : value) headers.append(name, one)
      }
      const status = incoming.statusCode ?? 0
      const empty = noBody.has(status) || request.method === "HEAD"
      // Read to its end even when unused, so the connection can serve the next request.
      if (empty) incoming.resume()
      return HttpClientResponse.fromWeb(
        request,
        new Response(empty ? null : Readable.toWeb(incoming), { status, headers })
      )
    },
    // A status a web Response cannot hold (below 200 or above 599).
    catch: (cause) => {
      incoming.destroy()
      return transport(request, cause)
    }
  })

/**
 * A request with a streamed body, sent as the platform client sends it (the request's headers, its
 * `content-length`, the agent of its scheme, the abort signal) but pulling the body only as fast as the
 * connection takes it. Errors are the platform's: `Encode` when the body's stream fails, `Transport` with
 * Node's error as the cause otherwise (the registry client reads its code).
 *
 * An answer that comes before the whole body went (a registry refusing the upload early) is returned at
 * once: the rest of the body is not sent, and the connection, left mid-request, is closed once the answer
 * is read.
 */
const send = (
  agent: NodeHttpClient.HttpAgent,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  body: Stream.Stream<Uint8Array, unknown>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.suspend(() => {
    const options = { method: request.method, headers: request.headers, signal }
    const nodeRequest =
      url.protocol === "https:"
        ? Https.request(url, { ...options, agent: agent.https })
        : Http.request(url, { ...options, agent: agent.http })
    // Errors after the exchange settled (the aborted rest of a refused body) have no one to tell: Node
    // would throw an unheard 'error'. The answer's own stream reports a broken connection.
    nodeRequest.on("error", () => {})
    let ended = false
    const upload = body.pipe(
      Stream.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })),
      Stream.runForEachChunk((chunk) => writeChunk(nodeRequest, request, chunk)),
      Effect.zipRight(
        Effect.suspend(() => {
          ended = true
          return finish(nodeRequest, request)
        })
      )
    )
    const answered = Effect.raceWith(upload, waitForResponse(nodeRequest, request), {
      onSelfDone: (exit, response) =>
        Exit.isSuccess(exit)
          ? Fiber.join(response)
          : Effect.zipRight(Fiber.interrupt(response), Effect.failCause(exit.cause)),
      onOtherDone: (exit, uploading) =>
        Effect.zipRight(
          Fiber.interrupt(uploading),
          Effect.map(exit, (incoming) => {
            if (!ended) incoming.once("end", () => nodeRequest.destroy())
            return incoming
          })
        )
    })
    return answered.pipe(
      Effect.flatMap((incoming) => toResponse(request, incoming)),
      // A failed body or connection leaves the request unfinished: close it rather than leave it waiting.
      Effect.onError(() => Effect.sync(() => nodeRequest.destroy()))
    )
  })

/**
 * `client`, except that requests with a streamed body are sent by `send` through `agent`, which should be
 * the agent `client` was made with.
 * @internal
 */
export const withBackpressure = (
  client: HttpClient.HttpClient,
  agent: NodeHttpClient.HttpAgent
): HttpClient.HttpClient => {
  const streaming = HttpClient.make((request, url, signal) =>
    request.body._tag === "Stream"
      ? send(agent, request, url, signal, request.body.stream)
      : Effect.dieMessage("only requests with a streamed body are sent here")
  )
  return HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (r) => (r.body._tag === "Stream" ? streaming.execute(r) : client.execute(r))),
    Effect.succeed
  )
}
