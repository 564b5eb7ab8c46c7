/** @internal */
import { HttpBody, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Layer, Option, Ref, Schedule, Schema, Stream } from "effect"
import { type Credential, CredentialStore } from "../../Credentials.js"
import * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { RegistryError, type RegistryReason } from "../../Errors.js"
import { Hasher } from "../../Hasher.js"
import * as ImageReference from "../../ImageReference.js"
import * as MediaType from "../../MediaType.js"
import type { Manifest, Options, RegistryClient, Repository, UploadOutcome } from "../../RegistryClient.js"
import { RegistryClient as RegistryClientTag } from "../../RegistryClient.js"
import * as Challenge from "./challenge.js"
import * as Http from "./http.js"

/** Manifests above this are refused, as distribution and containerd refuse them. @internal */
export const maxManifestBytes = 4 * 1024 * 1024

/** A page of tags or referrers, or a token answer, is small; this only guards against a runaway body. */
const maxDocumentBytes = 4 * 1024 * 1024
/** A page of tags or referrers: some registries answer every tag of a large repository in one page. */
const maxListBytes = 32 * 1024 * 1024

const maxRedirects = 5

/** The size of each PATCH when a registry asks for chunked uploads (more when it asks for more). */
const defaultChunkBytes = 8 * 1024 * 1024
/** The least size of a PATCH when the registry names its minimum: fewer, larger requests. */
const minChunkBytes = 1024 * 1024

const acceptManifests = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest
].join(", ")

const schema1MediaTypes = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws"
])

const schema1Detail =
  "the manifest is Docker schema 1, which ocidx does not read; push the image again with a current docker, buildx or skopeo"

/** A failure worth trying again (408, 429, 5xx, a broken connection), with what to report if it lasts. */
class Transient {
  readonly _tag = "Transient"
  constructor(
    readonly error: RegistryError,
    readonly retryAfter: Duration.Duration | undefined,
    /** A failed TLS handshake is not tried again (it fails the same way) but may still fall back to http. */
    readonly retryable: boolean = true,
    /** Whether plain http may be tried instead: not when the other end speaks TLS with a bad certificate. */
    readonly fallback: boolean = true
  ) {}
}

/** The body of a request failed while it was sent: the caller's content failed, or had the wrong size. */
class BodyFailed {
  readonly _tag = "BodyFailed"
}

type Failure = RegistryError | Transient | BodyFailed

const isTransient = (failure: Failure): boolean => failure._tag === "Transient" && failure.retryable

/** Node's codes for a TLS handshake that failed: an unverifiable certificate, or no TLS at the other end. */
const tlsFailure = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME_MISMATCH|ALTNAME/
const certificateFailure = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/

const pullScope = (repository: string): string => `repository:${repository}:pull`
const pushScope = (repository: string): string => `repository:${repository}:pull,push`

const repositoryPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

const isRedirect = (status: number): boolean =>
  status === 301 || status === 302 || status === 303 || status === 307 || status === 308

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

const reasonOf = (status: number, code: string | undefined): RegistryReason => {
  if (code === "DIGEST_INVALID" || code === "SIZE_INVALID") return "digest-mismatch"
  if (status === 401) return "unauthorized"
  if (status === 403) return "denied"
  if (status === 404) return "not-found"
  if (status === 429) return "rate-limited"
  if (status === 408 || status >= 500) return "unavailable"
  return "protocol"
}

const toBase64 = (text: string): string => {
  const bytes = new TextEncoder().encode(text)
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

const TokenAnswer = Schema.Struct({
  token: Schema.optional(Schema.String),
  access_token: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number)
})

const TagList = Schema.Struct({ tags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))) })

const ManifestFields = Schema.Struct({
  schemaVersion: Schema.optional(Schema.Unknown),
  mediaType: Schema.optional(Schema.Unknown),
  manifests: Schema.optional(Schema.Unknown),
  config: Schema.optional(Schema.Unknown),
  layers: Schema.optional(Schema.Unknown)
})

const IndexManifests = Schema.Struct({ manifests: Schema.Array(Descriptor.Descriptor) })

const decodeDescriptor = Schema.decodeUnknown(Descriptor.Descriptor)

interface CachedToken {
  readonly header: string
  readonly expiresAt: number
}

/** @internal */
export interface RetryPolicy {
  readonly attempts: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  readonly timeout: Duration.Duration
}

const retryPolicy = (options: Options | undefined): RetryPolicy => ({
  attempts: Math.max(1, Math.floor(options?.retry?.attempts ?? 5)),
  baseDelay: Duration.decode(options?.retry?.baseDelay ?? Duration.millis(250)),
  maxDelay: Duration.decode(options?.retry?.maxDelay ?? Duration.seconds(10)),
  maxRetryAfter: Duration.decode(options?.retry?.maxRetryAfter ?? Duration.seconds(60)),
  timeout: Duration.decode(options?.timeout ?? Duration.seconds(60))
})

interface Call {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH"
  /** A path below the registry (`/v2/...`) or an absolute URL (an upload `Location`, a `Link`). */
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Made again for every attempt and redirect: a stream body is pulled afresh each time. */
  readonly body?: (() => HttpBody.HttpBody) | undefined
  readonly scopes: ReadonlyArray<string>
}

/** @internal */
export const make = (
  options?: Options
): Effect.Effect<RegistryClient, never, HttpClient.HttpClient | CredentialStore | Hasher> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const credentials = yield* CredentialStore
    const hasher = yield* Hasher
    const policy = retryPolicy(options)
    const userAgent = options?.userAgent ?? "ocidx"
    const insecure = options?.insecure ?? false
    const isInsecure = (registry: string): boolean =>
      insecure === true ||
      (insecure !== false && insecure.some((name) => ImageReference.normaliseRegistry(name) === registry))

    const schemes = yield* Ref.make(new Map<string, "http" | "https">())
    const challenges = yield* Ref.make(new Map<string, Challenge.Challenge>())
    const tokens = yield* Ref.make(new Map<string, CachedToken>())
    const credentialFor = yield* Effect.cachedFunction((registry: string) =>
      credentials.get(registry).pipe(
        Effect.mapError(
          (error) =>
            new RegistryError({
              registry,
              reason: "unauthorized",
              detail: `the credentials could not be read: ${error.message}`,
              cause: error
            })
        )
      )
    )

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

    const errorFrom = (
      registry: string,
      response: HttpClientResponse.HttpClientResponse,
      reason?: RegistryReason
    ): Effect.Effect<RegistryError> =>
      Effect.map(
        Http.readSaid(response),
        (said) =>
          new RegistryError({
            registry,
            reason: reason ?? reasonOf(response.status, said.code),
            request: Http.describeRequest(response.request.method, response.request.url),
            status: response.status,
            code: said.code,
            detail: said.detail
          })
      )

    const failWith = (
      registry: string,
      response: HttpClientResponse.HttpClientResponse,
      reason?: RegistryReason
    ): Effect.Effect<never, RegistryError> => Effect.flatMap(errorFrom(registry, response, reason), Effect.fail)

    const protocolError = (
      registry: string,
      response: HttpClientResponse.HttpClientResponse | undefined,
      detail: string,
      reason: RegistryReason = "protocol"
    ): RegistryError =>
      new RegistryError({
        registry,
        reason,
        request:
          response === undefined ? undefined : Http.describeRequest(response.request.method, response.request.url),
        status: response?.status,
        detail
      })

    const transportError = (registry: string, method: string, url: string, cause: unknown): Transient => {
      const inner = typeof cause === "object" && cause !== null && "cause" in cause ? cause.cause : cause
      const code =
        typeof inner === "object" && inner !== null && "code" in inner && typeof inner.code === "string"
          ? inner.code
          : undefined
      const tls = code !== undefined && tlsFailure.test(code)
      return new Transient(
        new RegistryError({
          registry,
          reason: "unavailable",
          request: Http.describeRequest(method, url),
          detail:
            code === undefined
              ? "the connection failed"
              : tls
                ? `the TLS handshake failed (${code}): for a registry whose certificate a private CA signed, pass --ca-file with that CA; for one without TLS, or to accept any certificate, --insecure`
                : `the connection failed (${code})`,
          // The underlying socket error only: the request object holds the Authorization header.
          cause: inner instanceof Error ? new Error(inner.message) : undefined
        }),
        undefined,
        !tls,
        code === undefined || !certificateFailure.test(code)
      )
    }

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

    const fetchToken = (
      registry: string,
      challenge: Challenge.Challenge,
      scopes: ReadonlyArray<string>
    ): Effect.Effect<CachedToken, Failure> =>
      Effect.gen(function* () {
        const realm = challenge.params.realm
        if (realm === undefined) {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge names no realm" })
          )
        }
        const credential = yield* credentialFor(registry)
        const service = challenge.params.service
        let url: URL
        try {
          url = new URL(realm)
        } catch {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge's realm is not a URL" })
          )
        }
        if (url.protocol !== "https:" && url.protocol !== "http:") {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge's realm is not http(s)" })
          )
        }
        let call: Call
        let authorization: string | undefined
        if (Option.isSome(credential) && credential.value._tag === "IdentityToken") {
          const form = new URLSearchParams({ grant_type: "refresh_token", client_id: "ocidx" })
          if (service !== undefined) form.set("service", service)
          if (scopes.length > 0) form.set("scope", scopes.join(" "))
          form.set("refresh_token", credential.value.token)
          const text = form.toString()
          call = {
            method: "POST",
            url: url.toString(),
            scopes: [],
            body: () => HttpBody.text(text, "application/x-www-form-urlencoded")
          }
        } else {
          if (service !== undefined) url.searchParams.set("service", service)
          for (const scope of scopes) url.searchParams.append("scope", scope)
          call = { method: "GET", url: url.toString(), scopes: [] }
          authorization = basicHeader(credential)
        }
        const response = yield* exchange(registry, call, call.url, authorization)
        if (response.status !== 200) {
          const error = yield* errorFrom(registry, response)
          if (isRetryableStatus(response.status)) {
            const now = yield* Clock.currentTimeMillis
            return yield* Effect.fail(new Transient(error, Http.retryAfter(Http.header(response, "retry-after"), now)))
          }
          return yield* Effect.fail(error)
        }
        const bytes = yield* readDocument(registry, response)
        const answer = yield* decodeJson(registry, response, bytes, TokenAnswer, "the token endpoint's answer")
        const token = answer.token ?? answer.access_token
        if (token === undefined || token === "") {
          return yield* Effect.fail(protocolError(registry, response, "the token endpoint gave no token"))
        }
        const now = yield* Clock.currentTimeMillis
        // Renew a little early; distribution's default lifetime is 60 s when none is given.
        const expiresIn = answer.expires_in ?? 60
        const lifetime = Math.max(expiresIn - 10, expiresIn / 2, 0) * 1000
        return { header: `Bearer ${token}`, expiresAt: now + lifetime }
      })

    const basicHeader = (credential: Option.Option<Credential>): string | undefined =>
      Option.isSome(credential) && credential.value._tag === "Password"
        ? `Basic ${toBase64(`${credential.value.username}:${credential.value.password}`)}`
        : undefined

    // One token request at a time: blobs sent in parallel share the token the first one fetched.
    const tokenLock = yield* Effect.makeSemaphore(1)

    /**
     * The Authorization header for `scopes`, from what the registry's last challenge asked for. `refused` is
     * the header the registry just refused (`null` when none was refused): a cached token is used unless it is
     * the refused one.
     */
    const authorize = (
      registry: string,
      scopes: ReadonlyArray<string>,
      refused: string | undefined | null
    ): Effect.Effect<string | undefined, Failure> =>
      Effect.gen(function* () {
        const challenge = (yield* Ref.get(challenges)).get(registry)
        if (challenge === undefined) return undefined
        if (challenge.scheme === "basic") return basicHeader(yield* credentialFor(registry))
        const wanted = [...scopes]
        const extra = challenge.params.scope
        if (extra !== undefined) for (const scope of extra.split(" ")) if (!wanted.includes(scope)) wanted.push(scope)
        const key = `${registry}\n${wanted.join(" ")}`
        const cachedToken = Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const cached = (yield* Ref.get(tokens)).get(key)
          return cached !== undefined && cached.expiresAt > now && cached.header !== refused ? cached.header : undefined
        })
        const cached = yield* cachedToken
        if (cached !== undefined) return cached
        return yield* tokenLock.withPermits(1)(
          Effect.gen(function* () {
            const fetchedMeanwhile = yield* cachedToken
            if (fetchedMeanwhile !== undefined) return fetchedMeanwhile
            const token = yield* fetchToken(registry, challenge, wanted)
            yield* Ref.update(tokens, (map) => new Map(map).set(key, token))
            return token.header
          })
        )
      })

    /**
     * One attempt at a call: anonymous (or with what the registry asked for before), then, on 401, once more
     * with what its challenge asks for. 401 and 403 answers, and transient ones, become failures; every
     * other answer is the caller's to read.
     */
    const attempt = (registry: string, call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, Failure> =>
      Effect.gen(function* () {
        const url = new URL(call.url, yield* baseUrl(registry)).toString()
        let authorization = yield* authorize(registry, call.scopes, null)
        for (let round = 0; ; round++) {
          const response = yield* exchange(registry, call, url, authorization)
          if (response.status === 401) {
            const offered = Challenge.parse(Http.header(response, "www-authenticate") ?? "")
            const challenge = offered.find((c) => c.scheme === "bearer") ?? offered.find((c) => c.scheme === "basic")
            const error = yield* errorFrom(registry, response, "unauthorized")
            if (round > 0 || challenge === undefined) return yield* Effect.fail(error)
            yield* Ref.update(challenges, (map) => new Map(map).set(registry, challenge))
            authorization = yield* authorize(registry, call.scopes, authorization)
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

    const readDocument = (
      registry: string,
      response: HttpClientResponse.HttpClientResponse,
      limit: number = maxDocumentBytes,
      tooLarge: RegistryReason = "protocol"
    ): Effect.Effect<Uint8Array, Failure> =>
      Effect.catchAll(
        Http.readBounded(response, limit),
        (failure): Effect.Effect<never, Failure> =>
          failure._tag === "TooLong"
            ? Effect.fail(
                protocolError(
                  registry,
                  response,
                  tooLarge === "too-large"
                    ? `the manifest is larger than ${limit} bytes`
                    : `the answer is larger than ${limit} bytes`,
                  tooLarge
                )
              )
            : Effect.fail(
                new Transient(
                  protocolError(registry, response, "the connection broke while the answer was read", "unavailable"),
                  undefined
                )
              )
      )

    const decodeJson = <A, I>(
      registry: string,
      response: HttpClientResponse.HttpClientResponse,
      bytes: Uint8Array,
      schema: Schema.Schema<A, I>,
      what: string
    ): Effect.Effect<A, RegistryError> =>
      Effect.gen(function* () {
        let json: unknown
        try {
          json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
        } catch {
          return yield* Effect.fail(protocolError(registry, response, `${what} is not JSON`))
        }
        return yield* Schema.decodeUnknown(schema)(json).pipe(
          Effect.mapError(() => protocolError(registry, response, `${what} is not in the expected form`))
        )
      })

    const hashOf = (algorithm: Digest.Algorithm, bytes: Uint8Array): Effect.Effect<string> => {
      const hash = hasher.make(algorithm)
      hash.update(bytes)
      return Effect.map(hash.digest, (hex) => `${algorithm}:${hex}`)
    }

    const checkRepository = (repository: Repository): Effect.Effect<void, RegistryError> =>
      repositoryPattern.test(repository.repository) && repository.repository.length <= 255
        ? Effect.void
        : Effect.fail(
            new RegistryError({
              registry: repository.registry,
              reason: "protocol",
              detail: `${JSON.stringify(repository.repository)} is not a repository name`
            })
          )

    const checkReference = (repository: Repository, reference: string): Effect.Effect<void, RegistryError> =>
      tagPattern.test(reference) || Digest.is(reference)
        ? checkRepository(repository)
        : Effect.fail(
            new RegistryError({
              registry: repository.registry,
              reason: "protocol",
              detail: `${JSON.stringify(reference)} is neither a tag nor a digest`
            })
          )

    const registryOf = (repository: Repository): string => ImageReference.normaliseRegistry(repository.registry)

    const manifestPath = (repository: Repository, reference: string): string =>
      `/v2/${repository.repository}/manifests/${reference}`

    const contentTypeOf = (response: HttpClientResponse.HttpClientResponse): string | undefined =>
      Http.header(response, "content-type")?.split(";")[0]?.trim().toLowerCase()

    /**
     * The descriptor of manifest bytes as received: the media type the document states, else the content
     * type, else what its fields say; the digest over the exact bytes, checked against the reference and
     * `Docker-Content-Digest`.
     */
    const describeManifest = (
      registry: string,
      response: HttpClientResponse.HttpClientResponse,
      reference: string,
      bytes: Uint8Array
    ): Effect.Effect<Descriptor.Descriptor, RegistryError> =>
      Effect.gen(function* () {
        const contentType = contentTypeOf(response)
        if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
          return yield* Effect.fail(protocolError(registry, response, schema1Detail))
        }
        const fields = yield* decodeJson(registry, response, bytes, ManifestFields, "the manifest")
        if (fields.schemaVersion === 1) return yield* Effect.fail(protocolError(registry, response, schema1Detail))
        const mediaType =
          typeof fields.mediaType === "string"
            ? fields.mediaType
            : contentType !== undefined && contentType !== "application/json" && contentType !== "text/plain"
              ? contentType
              : fields.manifests !== undefined
                ? MediaType.ociIndex
                : MediaType.ociManifest
        const expected = Digest.parse(reference)
        const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
        const algorithm = Option.match(expected, {
          onSome: (digest) => Digest.algorithm(digest),
          onNone: () => Option.match(stated, { onSome: Digest.algorithm, onNone: () => "sha256" })
        })
        if (!Digest.isAlgorithm(algorithm)) {
          return yield* Effect.fail(
            protocolError(registry, response, `ocidx cannot verify ${JSON.stringify(algorithm)} digests`)
          )
        }
        const digest = yield* hashOf(algorithm, bytes)
        for (const named of [expected, stated]) {
          if (Option.isNone(named) || !Digest.isVerifiable(named.value)) continue
          const alg = Digest.algorithm(named.value)
          const actual = alg === algorithm || !Digest.isAlgorithm(alg) ? digest : yield* hashOf(alg, bytes)
          if (actual !== named.value) {
            return yield* Effect.fail(
              protocolError(
                registry,
                response,
                `the manifest's bytes have the digest ${actual}, not ${named.value}`,
                "digest-mismatch"
              )
            )
          }
        }
        return yield* decodeDescriptor({ mediaType, digest, size: bytes.length }).pipe(
          Effect.mapError(() =>
            protocolError(registry, response, `the manifest's media type ${JSON.stringify(mediaType)} is not valid`)
          )
        )
      })

    const getManifest = Effect.fn("RegistryClient.getManifest")(function* (repository: Repository, reference: string) {
      yield* checkReference(repository, reference)
      const registry = registryOf(repository)
      const call: Call = {
        method: "GET",
        url: manifestPath(repository, reference),
        headers: { accept: acceptManifests },
        scopes: [pullScope(repository.repository)]
      }
      const { response, bytes } = yield* orDieBody(
        retrying(
          Effect.gen(function* () {
            const response = yield* send(registry, call)
            if (response.status !== 200) return yield* failWith(registry, response)
            const contentType = contentTypeOf(response)
            if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
              yield* Http.discard(response)
              return yield* Effect.fail(protocolError(registry, response, schema1Detail))
            }
            const bytes = yield* readDocument(registry, response, maxManifestBytes, "too-large")
            return { response, bytes }
          })
        )
      )
      const descriptor = yield* describeManifest(registry, response, reference, bytes)
      const manifest: Manifest = { descriptor, bytes }
      return manifest
    })

    const headManifest = Effect.fn("RegistryClient.headManifest")(function* (
      repository: Repository,
      reference: string
    ) {
      yield* checkReference(repository, reference)
      const registry = registryOf(repository)
      const response = yield* orDieBody(
        retrying(
          send(registry, {
            method: "HEAD",
            url: manifestPath(repository, reference),
            headers: { accept: acceptManifests },
            scopes: [pullScope(repository.repository)]
          })
        )
      )
      if (response.status === 404) return Option.none<Descriptor.Descriptor>()
      if (response.status !== 200) return yield* failWith(registry, response)
      const contentType = contentTypeOf(response)
      if (contentType !== undefined && schema1MediaTypes.has(contentType)) {
        return yield* Effect.fail(protocolError(registry, response, schema1Detail))
      }
      const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
      const expected = Digest.parse(reference)
      if (Option.isSome(expected) && Option.isSome(stated) && expected.value !== stated.value) {
        return yield* Effect.fail(
          protocolError(
            registry,
            response,
            `the registry names the manifest ${stated.value}, not ${expected.value}`,
            "digest-mismatch"
          )
        )
      }
      const digest = Option.orElse(expected, () => stated)
      const length = Http.header(response, "content-length")
      const known =
        length !== undefined && /^\d+$/.test(length) && contentType !== undefined && contentType !== "application/json"
      if (Option.isNone(digest) || !known) {
        // Without its digest, size or type in the headers, the manifest itself says.
        const manifest = yield* getManifest(repository, reference)
        return Option.some(manifest.descriptor)
      }
      const descriptor = yield* decodeDescriptor({
        mediaType: contentType,
        digest: digest.value,
        size: Number(length)
      }).pipe(Effect.mapError(() => protocolError(registry, response, "the manifest's headers are not valid")))
      return Option.some(descriptor)
    })

    const putManifest = Effect.fn("RegistryClient.putManifest")(function* (
      repository: Repository,
      reference: string,
      manifest: { readonly mediaType: string; readonly bytes: Uint8Array }
    ) {
      yield* checkReference(repository, reference)
      const registry = registryOf(repository)
      if (manifest.bytes.length > maxManifestBytes) {
        return yield* Effect.fail(
          new RegistryError({
            registry,
            reason: "too-large",
            detail: `the manifest is ${manifest.bytes.length} bytes, more than ${maxManifestBytes}`
          })
        )
      }
      const expected = Digest.parse(reference)
      const algorithm = Option.match(expected, { onSome: Digest.algorithm, onNone: () => "sha256" })
      if (!Digest.isAlgorithm(algorithm)) {
        return yield* Effect.fail(
          new RegistryError({
            registry,
            reason: "protocol",
            detail: `ocidx cannot compute ${JSON.stringify(algorithm)} digests`
          })
        )
      }
      const computed = yield* hashOf(algorithm, manifest.bytes)
      const digest = yield* decodeDigest(registry, computed)
      if (Option.isSome(expected) && expected.value !== digest) {
        return yield* Effect.fail(
          new RegistryError({
            registry,
            reason: "digest-mismatch",
            detail: `the manifest's bytes have the digest ${digest}, not ${expected.value}`
          })
        )
      }
      const bytes = manifest.bytes
      const response = yield* orDieBody(
        retrying(
          send(registry, {
            method: "PUT",
            url: manifestPath(repository, reference),
            headers: { "content-type": manifest.mediaType },
            body: () => HttpBody.uint8Array(bytes, manifest.mediaType),
            scopes: [pushScope(repository.repository)]
          })
        )
      )
      if (response.status !== 201 && response.status !== 200) return yield* failWith(registry, response)
      yield* Http.discard(response)
      const stated = Option.flatMap(Option.fromNullable(Http.header(response, "docker-content-digest")), Digest.parse)
      if (Option.isSome(stated) && Digest.algorithm(stated.value) === algorithm && stated.value !== digest) {
        return yield* Effect.fail(
          protocolError(
            registry,
            response,
            `the registry stored the manifest as ${stated.value}, not ${digest}`,
            "digest-mismatch"
          )
        )
      }
      return digest
    })

    const decodeDigest = (registry: string, text: string): Effect.Effect<Digest.Digest, RegistryError> =>
      Option.match(Digest.parse(text), {
        onNone: () =>
          Effect.fail(new RegistryError({ registry, reason: "protocol", detail: `${text} is not a digest` })),
        onSome: Effect.succeed
      })

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

    const getBlob = (
      repository: Repository,
      descriptor: { readonly digest: Digest.Digest; readonly size: number }
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
          const hash = hasher.make(algorithm)
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
                  Stream.mapEffect((chunk): Effect.Effect<Option.Option<Uint8Array>, RegistryError> => {
                    let bytes = chunk
                    if (toSkip > 0) {
                      if (bytes.length <= toSkip) {
                        toSkip -= bytes.length
                        return Effect.succeed(Option.none())
                      }
                      bytes = bytes.subarray(toSkip)
                      toSkip = 0
                    }
                    if (received + bytes.length > descriptor.size) {
                      return Effect.fail(mismatch(`the blob is longer than its size, ${descriptor.size} bytes`))
                    }
                    received += bytes.length
                    hash.update(bytes)
                    return Effect.succeed(Option.some(bytes))
                  }),
                  Stream.filterMap((bytes) => bytes)
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
                Schedule.whileInput(
                  (failure: RegistryError | Http.BodyInterrupted) => failure._tag === "BodyInterrupted"
                )
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

    const uploadBlob = <E>(
      repository: Repository,
      descriptor: { readonly digest: Digest.Digest; readonly size: number },
      content: () => Stream.Stream<Uint8Array, E>,
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
        const guarded = (): Stream.Stream<Uint8Array, BodyFailed> =>
          Stream.suspend(() => {
            let sent = 0
            return content().pipe(
              Stream.mapError((error) => {
                contentFailure = Option.some(error)
                return new BodyFailed()
              }),
              Stream.mapEffect((chunk) => {
                sent += chunk.length
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
                  const joined = joinBytes(pending, pendingBytes)
                  const size = Math.min(chunkBytes, joined.length)
                  yield* patch(joined.subarray(0, size))
                  const rest = joined.subarray(size)
                  pending = rest.length > 0 ? [rest] : []
                  pendingBytes = rest.length
                }
              })
            yield* guarded().pipe(
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
                : HttpBody.stream(guarded(), "application/octet-stream", descriptor.size),
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

    const listTags = Effect.fn("RegistryClient.listTags")(function* (repository: Repository) {
      yield* checkRepository(repository)
      const registry = registryOf(repository)
      const tags: Array<string> = []
      let url: string | undefined = `/v2/${repository.repository}/tags/list`
      for (let page = 0; url !== undefined; page++) {
        if (page >= 10_000) {
          return yield* Effect.fail(new RegistryError({ registry, reason: "protocol", detail: "endless tag pages" }))
        }
        const call: Call = { method: "GET", url, scopes: [pullScope(repository.repository)] }
        const { response, bytes } = yield* orDieBody(
          retrying(
            Effect.gen(function* () {
              const response = yield* send(registry, call)
              if (response.status !== 200) return yield* failWith(registry, response)
              return { response, bytes: yield* readDocument(registry, response, maxListBytes) }
            })
          )
        )
        const list = yield* decodeJson(registry, response, bytes, TagList, "the tag list")
        for (const tag of list.tags ?? []) tags.push(tag)
        url = Http.nextLink(response)
      }
      return tags
    })

    const referrers = Effect.fn("RegistryClient.referrers")(function* (
      repository: Repository,
      digest: Digest.Digest,
      referrerOptions?: { readonly artifactType?: string | undefined }
    ) {
      yield* checkRepository(repository)
      const registry = registryOf(repository)
      const artifactType = referrerOptions?.artifactType
      const keep = (descriptors: ReadonlyArray<Descriptor.Descriptor>) =>
        artifactType === undefined ? descriptors : descriptors.filter((d) => d.artifactType === artifactType)
      const found: Array<Descriptor.Descriptor> = []
      let url: string | undefined =
        `/v2/${repository.repository}/referrers/${digest}` +
        (artifactType === undefined ? "" : `?artifactType=${encodeURIComponent(artifactType)}`)
      for (let page = 0; url !== undefined; page++) {
        if (page >= 1_000) {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "endless referrer pages" })
          )
        }
        const call: Call = {
          method: "GET",
          url,
          headers: { accept: MediaType.ociIndex },
          scopes: [pullScope(repository.repository)]
        }
        const answer = yield* orDieBody(
          retrying(
            Effect.gen(function* () {
              const response = yield* send(registry, call)
              if (response.status === 404 || response.status === 405 || response.status === 400) {
                yield* Http.discard(response)
                return undefined
              }
              if (response.status !== 200) return yield* failWith(registry, response)
              if (contentTypeOf(response) !== MediaType.ociIndex) {
                yield* Http.discard(response)
                return undefined
              }
              return { response, bytes: yield* readDocument(registry, response, maxListBytes) }
            })
          )
        )
        if (answer === undefined) {
          if (page > 0) break
          return yield* referrersByTag(repository, digest, keep)
        }
        const index = yield* decodeJson(registry, answer.response, answer.bytes, IndexManifests, "the referrers index")
        const filtered = (Http.header(answer.response, "oci-filters-applied") ?? "").split(",").includes("artifactType")
        for (const descriptor of filtered ? index.manifests : keep(index.manifests)) found.push(descriptor)
        url = Http.nextLink(answer.response)
      }
      return found
    })

    /** The referrers tag schema: an index tagged `<alg>-<hex>`, kept by registries without the API. */
    const referrersByTag = (
      repository: Repository,
      digest: Digest.Digest,
      keep: (descriptors: ReadonlyArray<Descriptor.Descriptor>) => ReadonlyArray<Descriptor.Descriptor>
    ): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, RegistryError> =>
      Effect.gen(function* () {
        const tag = `${Digest.algorithm(digest)}-${Digest.encoded(digest)}`.slice(0, 128)
        const manifest = yield* getManifest(repository, tag).pipe(
          Effect.map(Option.some),
          Effect.catchIf(
            (error) => error.reason === "not-found",
            () => Effect.succeed(Option.none<Manifest>())
          )
        )
        if (Option.isNone(manifest) || !MediaType.isIndex(manifest.value.descriptor.mediaType)) return []
        const index = yield* Effect.try({
          try: () => JSON.parse(new TextDecoder().decode(manifest.value.bytes)),
          catch: () =>
            new RegistryError({
              registry: registryOf(repository),
              reason: "protocol",
              detail: `the referrers tag ${tag} is not JSON`
            })
        }).pipe(
          Effect.flatMap(Schema.decodeUnknown(IndexManifests)),
          Effect.mapError((error) =>
            error._tag === "RegistryError"
              ? error
              : new RegistryError({
                  registry: registryOf(repository),
                  reason: "protocol",
                  detail: `the referrers tag ${tag} is not an index of descriptors`
                })
          )
        )
        return keep(index.manifests)
      })

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

    return RegistryClientTag.of({
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
  })

const joinBytes = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0]
  const all = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

/** @internal */
export const layer = (
  options?: Options
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | CredentialStore | Hasher> =>
  Layer.effect(RegistryClientTag, make(options))
