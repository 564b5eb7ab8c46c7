/**
 * The small pieces of HTTP the registry client needs: URLs without secrets, bounded body reads, `Link` and
 * `Retry-After` headers, and the distribution spec's error body.
 * @internal
 */
import type { HttpClientResponse } from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { joined } from "../bytes.js"

/** Query parameters that carry no secret and help a person see which request failed. */
const shownParams = new Set(["digest", "mount", "from", "n", "last", "service", "scope", "artifactType"])

/**
 * `METHOD url` for an error: no userinfo, and of the query only the parameters known to hold no secret
 * (upload `Location`s carry signed state, token endpoints may carry anything).
 * @internal
 */
export const describeRequest = (method: string, url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    parsed.hash = ""
    for (const key of Array.from(parsed.searchParams.keys())) {
      if (!shownParams.has(key)) parsed.searchParams.delete(key)
    }
    return `${method} ${parsed.toString()}`
  } catch {
    return method
  }
}

/** `scheme://host:port`, lower case, for the same-origin rule of redirects. @internal */
export const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** A header's value, or undefined. @internal */
export const header = (response: HttpClientResponse.HttpClientResponse, name: string): string | undefined => {
  const value = response.headers[name.toLowerCase()]
  return value === undefined || value === "" ? undefined : value
}

/** The response's `Location`, resolved against the URL it answered. @internal */
export const location = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  const value = header(response, "location")
  if (value === undefined) return undefined
  try {
    return new URL(value, response.request.url).toString()
  } catch {
    return undefined
  }
}

/** The `rel="next"` target of a `Link` header, resolved against the request URL. @internal */
export const nextLink = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  const value = header(response, "link")
  if (value === undefined) return undefined
  for (const part of value.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part)
    if (match === null) continue
    if (!/;\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?/i.test(match[2] ?? "")) continue
    try {
      return new URL(match[1] ?? "", response.request.url).toString()
    } catch {
      return undefined
    }
  }
  return undefined
}

/**
 * How long `Retry-After` asks to wait (delay-seconds or an HTTP date, relative to `now`), if it says.
 * @internal
 */
export const retryAfter = (value: string | undefined, now: number): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Duration.seconds(Number(trimmed))
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Duration.millis(Math.max(0, date - now))
}

/** The body was longer than the limit. @internal */
export class TooLong {
  readonly _tag = "TooLong"
}

/** The connection failed while the body was read. @internal */
export class BodyInterrupted {
  readonly _tag = "BodyInterrupted"
  constructor(readonly cause: unknown) {}
}

/**
 * How many bytes of the body are read ahead of the consumer: enough to keep the connection busy while the
 * consumer writes, few enough to stay small (one socket read is ~64 KiB).
 */
const readAheadBytes = 1024 * 1024

/** A response body being read. @internal */
export interface WatchedBody {
  /**
   * The buffers read since the last call, at least one (waiting for one if none), or `undefined` at the
   * body's end; fails once the connection broke or went quiet.
   */
  readonly next: Effect.Effect<ReadonlyArray<Uint8Array> | undefined, BodyInterrupted>
}

/**
 * Reads the body ahead in a fiber of the scope, for as long as the scope lasts, failing with
 * `BodyInterrupted` when the network has sent nothing for `timeout`. A caller takes everything read so far
 * at once, so a large body costs one step per batch of reads, not a chain of stream operators per read; and
 * one watchdog per body replaces `Stream.timeoutFail`, which forked a fiber and started a timer for every
 * pull. Per 64 KiB read those made more than their bytes in short-lived heap objects, and Node 24's larger
 * young generation kept that garbage as RSS.
 *
 * The reads gather in one array that the consumer swaps out whole. The reader waits only once the array holds
 * `readAheadBytes`, and then once per batch the consumer takes, not once per read: a bounded queue's offer to a
 * full queue suspended the reader for every 64 KiB read whenever the consumer lagged, which it mostly does (the
 * disk is slower than loopback).
 *
 * A stall is a whole `timeout` in which no read arrived and none was taken while the read-ahead had room: a
 * consumer that is slow to take (a full read-ahead) is not the network's fault.
 * @internal
 */
export const watchBody = (
  response: HttpClientResponse.HttpClientResponse,
  timeout: Duration.DurationInput
): Effect.Effect<WatchedBody, never, Scope.Scope> =>
  Effect.gen(function* () {
    let gathered: Array<Uint8Array> = []
    let gatheredBytes = 0
    let progress = 0
    // How the body ended (or the watchdog's verdict), delivered once the buffers before it are taken.
    let outcome: Exit.Exit<void, BodyInterrupted> | undefined
    // Open while there is something to take: buffers or the outcome.
    const ready = yield* Effect.makeLatch(false)
    // Open while the read-ahead has room.
    const room = yield* Effect.makeLatch(true)
    const end = (exit: Exit.Exit<void, BodyInterrupted>) =>
      Effect.sync(() => {
        outcome ??= exit
        ready.unsafeOpen()
      })
    const reader = response.stream.pipe(
      Stream.runForEachChunk((buffers) => {
        progress++
        for (const buffer of buffers) {
          gathered.push(buffer)
          gatheredBytes += buffer.length
        }
        ready.unsafeOpen()
        if (gatheredBytes < readAheadBytes) return Effect.void
        room.unsafeClose()
        return room.await
      }),
      Effect.mapError((cause) => new BodyInterrupted(cause)),
      Effect.exit,
      Effect.flatMap(end)
    )
    const watchdog = Effect.gen(function* () {
      let seen = progress
      while (true) {
        yield* Effect.sleep(timeout)
        if (outcome !== undefined) return
        if (progress !== seen || gatheredBytes >= readAheadBytes) {
          seen = progress
          continue
        }
        return yield* end(Exit.fail(new BodyInterrupted("no bytes in time")))
      }
    })
    yield* Effect.forkScoped(reader)
    yield* Effect.forkScoped(watchdog)

    type Next = Effect.Effect<ReadonlyArray<Uint8Array> | undefined, BodyInterrupted>
    const next: Next = Effect.suspend(() => {
      if (gathered.length > 0) {
        const taken = gathered
        gathered = []
        gatheredBytes = 0
        progress++
        room.unsafeOpen()
        return Effect.succeed(taken)
      }
      if (outcome !== undefined) {
        return Exit.isSuccess(outcome) ? Effect.succeed(undefined) : Effect.failCause(outcome.cause)
      }
      ready.unsafeClose()
      return Effect.zipRight(ready.await, next)
    })
    return { next }
  })

/**
 * The whole body, refusing (and stopping the read, which aborts the connection) past `limit` bytes: a
 * `Content-Length` above it is refused before anything is read.
 * @internal
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, TooLong | BodyInterrupted> => {
  if (declaredLength(response) > limit) return Effect.zipRight(abort(response), Effect.fail(new TooLong()))
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    return response.stream.pipe(
      Stream.mapError((cause) => new BodyInterrupted(cause)),
      Stream.mapChunksEffect((chunk) => {
        for (const bytes of chunk) {
          total += bytes.length
          if (total > limit) return Effect.fail(new TooLong())
          chunks.push(bytes)
        }
        return Effect.succeed(Chunk.empty<never>())
      }),
      Stream.runDrain,
      Effect.map(() => joined(chunks))
    )
  })
}

/**
 * Lets go of a response whose body is not wanted: reads a little of it (so a small body leaves the
 * connection reusable) and aborts the rest.
 * @internal
 */
export const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.request.method === "HEAD"
    ? Effect.void
    : declaredLength(response) > discardBytes
      ? abort(response)
      : Effect.ignore(readBounded(response, discardBytes).pipe(Effect.timeout(Duration.seconds(5))))

const discardBytes = 64 * 1024

/** The `Content-Length` the response declares, 0 when it declares none. */
const declaredLength = (response: HttpClientResponse.HttpClientResponse): number => {
  const declared = header(response, "content-length")
  return declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : 0
}

/** Stops reading a body after (at most) its first chunk: the connection is closed rather than drained. */
const abort = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  Effect.ignore(Stream.runHead(response.stream).pipe(Effect.timeout(Duration.seconds(5))))

const ErrorBody = Schema.Struct({
  errors: Schema.Array(
    Schema.Struct({
      code: Schema.optional(Schema.String),
      message: Schema.optional(Schema.String),
      detail: Schema.optional(Schema.Unknown)
    })
  )
})

const TokenErrorBody = Schema.Struct({
  details: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  error_description: Schema.optional(Schema.String)
})

/** What a registry said about a failure. @internal */
export interface Said {
  readonly code?: string | undefined
  readonly detail?: string | undefined
}

const maxShown = 300

const shorten = (text: string): string => (text.length > maxShown ? `${text.slice(0, maxShown)}…` : text)

/**
 * The registry's own error code and message from a distribution error body (`{"errors":[...]}`) or a token
 * endpoint's (`{"details":...}`), read no further than 64 KiB; nothing when the body is something else.
 * @internal
 */
export const readSaid = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Said> =>
  response.request.method === "HEAD"
    ? Effect.succeed({})
    : readBounded(response, 64 * 1024).pipe(
        Effect.timeout(Duration.seconds(10)),
        Effect.map(parseSaid),
        Effect.orElseSucceed(() => ({}))
      )

const parseSaid = (bytes: Uint8Array): Said => {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return {}
  }
  const distribution = Schema.decodeUnknownOption(ErrorBody)(json)
  if (Option.isSome(distribution)) {
    const first = distribution.value.errors[0]
    if (first === undefined) return {}
    const message = first.message ?? (typeof first.detail === "string" ? first.detail : undefined)
    return { code: first.code, detail: message === undefined ? undefined : shorten(message) }
  }
  const token = Schema.decodeUnknownOption(TokenErrorBody)(json)
  if (Option.isSome(token)) {
    const message = token.value.details ?? token.value.error_description ?? token.value.error
    return message === undefined ? {} : { detail: shorten(message) }
  }
  return {}
}
