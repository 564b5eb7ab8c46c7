/** @internal */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { CredentialStore } from "../../Credentials.js"
import { RegistryError } from "../../Errors.js"
import * as ImageReference from "../../ImageReference.js"
import type { Options } from "../../RegistryClient.js"
import * as Auth from "./auth.js"
import * as Challenge from "./challenge.js"
import * as Http from "./http.js"
import {
  BodyFailed,
  type Call,
  errorFrom,
  type Failure,
  failWith,
  isRedirect,
  isRetryableStatus,
  isTransient,
  maxRedirects,
  protocolError,
  type RetryPolicy,
  retryPolicy,
  Transient,
  transportError
} from "./protocol.js"

/**
 * Requests to registries: redirects, the Authorization each needs, the scheme of a loopback or insecure
 * registry, timeouts and retries. @internal
 */
export interface Transport {
  readonly policy: RetryPolicy
  /** One attempt at a call, authorized as the registry asks; 401, 403 and transient answers fail. */
  readonly send: (registry: string, call: Call) => Effect.Effect<HttpClientResponse.HttpClientResponse, Failure>
  /** Tries `effect` again on a transient failure, a bounded number of times; the last one is reported. */
  readonly retrying: <A>(effect: Effect.Effect<A, Failure>) => Effect.Effect<A, RegistryError | BodyFailed>
  /** For requests without a streamed body, whose body cannot fail. */
  readonly orDieBody: <A>(effect: Effect.Effect<A, RegistryError | BodyFailed>) => Effect.Effect<A, RegistryError>
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Transport, never, HttpClient.HttpClient | CredentialStore> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const policy = retryPolicy(options)
    const userAgent = options?.userAgent ?? "ocidx"
    const insecure = options?.insecure ?? false
    const isInsecure = (registry: string): boolean =>
      insecure === true ||
      (insecure !== false && insecure.some((name) => ImageReference.normaliseRegistry(name) === registry))

    const schemes = yield* Ref.make(new Map<string, "http" | "https">())

    const schedule = Schedule.exponential(policy.baseDelay, 2).pipe(
      Schedule.jittered,
      Schedule.union(Schedule.spaced(policy.maxDelay)),
      Schedule.intersect(Schedule.recurs(policy.attempts - 1)),
      Schedule.intersect(Schedule.identity<Failure>()),
      Schedule.whileInput(isTransient),
      Schedule.modifyDelay(([, failure], delay) => {
        if (failure._tag !== "Transient" || failure.retryAfter === undefined) return delay
        return Duration.max(delay, Duration.min(failure.retryAfter, policy.maxRetryAfter))
      })
    )

    /** Tries `effect` again on a transient failure, a bounded number of times; the last one is reported. */
    const retrying = <A>(effect: Effect.Effect<A, Failure>): Effect.Effect<A, RegistryError | BodyFailed> =>
      effect.pipe(
        Effect.retry(schedule),
        Effect.catchIf(
          (failure): failure is Transient => failure._tag === "Transient",
          (failure) => Effect.fail(failure.error)
        )
      )

    const orDieBody = <A>(effect: Effect.Effect<A, RegistryError | BodyFailed>): Effect.Effect<A, RegistryError> =>
      Effect.catchIf(
        effect,
        (failure): failure is BodyFailed => failure._tag === "BodyFailed",
        () => Effect.dieMessage("a request without a streamed body failed to send its body")
      )

    const baseUrl = (registry: string): Effect.Effect<string> =>
      Effect.map(
        Ref.get(schemes),
        (known) => `${known.get(registry) ?? "https"}://${ImageReference.endpoint(registry)}`
      )

    /**
     * One exchange, following redirects itself: the Authorization header goes only to the origin it was
     * meant for, and is dropped for good once a redirect leaves it (blobs are often served from storage).
     */
    const exchange = (
      registry: string,
      call: Call,
      url: string,
      authorization: string | undefined
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, Failure> =>
      Effect.gen(function* () {
        const origin = Http.originOf(url)
        let current = url
        let method = call.method
        let body = call.body
        let auth = authorization
        for (let hop = 0; ; hop++) {
          const headers: Record<string, string> = { "user-agent": userAgent, ...call.headers }
          if (auth !== undefined) headers.authorization = auth
          let request = HttpClientRequest.make(method)(current, { headers })
          const content = body?.()
          if (content !== undefined) request = HttpClientRequest.setBody(request, content)
          const target = current
          // A streamed body takes as long as it takes; any other request waits so long for its answer.
          const timed =
            content?._tag === "Stream"
              ? client.execute(request)
              : Effect.timeoutFail(client.execute(request), {
                  duration: policy.timeout,
                  onTimeout: () =>
                    new HttpClientError.RequestError({
                      request,
                      reason: "Transport",
                      cause: Object.assign(new Error("no answer in time"), { code: "ETIMEDOUT" })
                    })
                })
          const response = yield* timed.pipe(
            Effect.catchAll((error): Effect.Effect<never, Failure> => {
              if (error._tag === "RequestError" && error.reason === "Encode") return Effect.fail(new BodyFailed())
              if (error._tag === "RequestError" && error.reason === "InvalidUrl") {
                return Effect.fail(
                  new RegistryError({
                    registry,
                    reason: "protocol",
                    request: Http.describeRequest(method, target),
                    detail: "the URL is not valid"
                  })
                )
              }
              return Effect.fail(transportError(registry, method, target, error))
            })
          )
          const next = isRedirect(response.status) ? Http.location(response) : undefined
          if (next === undefined) return response
          yield* Http.discard(response)
          if (hop >= maxRedirects) {
            return yield* Effect.fail(
              protocolError(registry, response, `more than ${maxRedirects} redirects`, "protocol")
            )
          }
          if (Http.originOf(next) !== origin) auth = undefined
          if (response.status === 303 && method !== "HEAD") {
            method = "GET"
            body = undefined
          }
          current = next
        }
      })

    const auth = yield* Auth.make(exchange)

    /**
     * One attempt at a call: anonymous (or with what the registry asked for before), then, on 401, once more
     * with what its challenge asks for. 401 and 403 answers, and transient ones, become failures; every
     * other answer is the caller's to read.
     */
    const attempt = (registry: string, call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, Failure> =>
      Effect.gen(function* () {
        const url = new URL(call.url, yield* baseUrl(registry)).toString()
        let authorization = yield* auth.authorize(registry, call.scopes, null)
        for (let round = 0; ; round++) {
          const response = yield* exchange(registry, call, url, authorization)
          if (response.status === 401) {
            const offered = Challenge.parse(Http.header(response, "www-authenticate") ?? "")
            const challenge = offered.find((c) => c.scheme === "bearer") ?? offered.find((c) => c.scheme === "basic")
            const error = yield* errorFrom(registry, response, "unauthorized")
            if (round > 0 || challenge === undefined) return yield* Effect.fail(error)
            yield* auth.challenged(registry, challenge)
            authorization = yield* auth.authorize(registry, call.scopes, authorization)
            if (authorization === undefined) return yield* Effect.fail(error)
            continue
          }
          if (response.status === 403) return yield* failWith(registry, response, "denied")
          if (isRetryableStatus(response.status)) {
            const error = yield* errorFrom(registry, response)
            const now = yield* Clock.currentTimeMillis
            return yield* Effect.fail(new Transient(error, Http.retryAfter(Http.header(response, "retry-after"), now)))
          }
          return response
        }
      })

    /**
     * An attempt. A loopback or `--insecure` registry is tried in https first; when https cannot connect (or
     * the other end does not speak TLS), plain http is used from then on, as docker does. A certificate that
     * fails verification is reported: the registry speaks TLS, and http would not help.
     */
    const send = (registry: string, call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, Failure> =>
      !isInsecure(registry) && !ImageReference.isLoopback(registry)
        ? attempt(registry, call)
        : Effect.flatMap(Ref.get(schemes), (known) => {
            if (known.has(registry)) return attempt(registry, call)
            const settle = (scheme: "http" | "https") =>
              Ref.update(schemes, (map) => new Map(map).set(registry, scheme))
            return attempt(registry, call).pipe(
              Effect.tap(() => settle("https")),
              Effect.catchIf(
                (failure) => failure._tag === "Transient" && failure.error.status === undefined && failure.fallback,
                () => Effect.zipRight(settle("http"), attempt(registry, call))
              )
            )
          })

    return { policy, send, retrying, orDieBody }
  })
