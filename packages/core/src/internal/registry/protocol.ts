/**
 * What every part of the registry client shares: limits, the failures a request can end in, and how an
 * answer becomes a RegistryError. @internal
 */
import type { HttpBody, HttpClientResponse } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { RegistryError, type RegistryReason } from "../../Errors.js"
import * as ImageReference from "../../ImageReference.js"
import * as MediaType from "../../MediaType.js"
import type { Options, Repository } from "../../RegistryClient.js"
import * as Http from "./http.js"

/** Manifests above this are refused, as distribution and containerd refuse them. @internal */
export const maxManifestBytes = 4 * 1024 * 1024

/** A page of tags or referrers, or a token answer, is small; this only guards against a runaway body. */
export const maxDocumentBytes = 4 * 1024 * 1024
/** A page of tags or referrers: some registries answer every tag of a large repository in one page. */
export const maxListBytes = 32 * 1024 * 1024

export const maxRedirects = 5

export const acceptManifests = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest
].join(", ")

export const schema1MediaTypes = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws"
])

export const schema1Detail =
  "the manifest is Docker schema 1, which ocidx does not read; push the image again with a current docker, buildx or skopeo"

/** A failure worth trying again (408, 429, 5xx, a broken connection), with what to report if it lasts. */
export class Transient {
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
export class BodyFailed {
  readonly _tag = "BodyFailed"
}

export type Failure = RegistryError | Transient | BodyFailed

export const isTransient = (failure: Failure): boolean => failure._tag === "Transient" && failure.retryable

/** Node's codes for a TLS handshake that failed: an unverifiable certificate, or no TLS at the other end. */
export const tlsFailure = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME_MISMATCH|ALTNAME/
export const certificateFailure = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/

export const pullScope = (repository: string): string => `repository:${repository}:pull`
export const pushScope = (repository: string): string => `repository:${repository}:pull,push`

export const repositoryPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
export const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

export const isRedirect = (status: number): boolean =>
  status === 301 || status === 302 || status === 303 || status === 307 || status === 308

export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

export const reasonOf = (status: number, code: string | undefined): RegistryReason => {
  if (code === "DIGEST_INVALID" || code === "SIZE_INVALID") return "digest-mismatch"
  if (status === 401) return "unauthorized"
  if (status === 403) return "denied"
  if (status === 404) return "not-found"
  if (status === 429) return "rate-limited"
  if (status === 408 || status >= 500) return "unavailable"
  return "protocol"
}

export const decodeDescriptor = Schema.decodeUnknown(Descriptor.Descriptor)

/** @internal */
export interface RetryPolicy {
  readonly attempts: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  readonly timeout: Duration.Duration
}

export const retryPolicy = (options: Options | undefined): RetryPolicy => ({
  attempts: Math.max(1, Math.floor(options?.retry?.attempts ?? 5)),
  baseDelay: Duration.decode(options?.retry?.baseDelay ?? Duration.millis(250)),
  maxDelay: Duration.decode(options?.retry?.maxDelay ?? Duration.seconds(10)),
  maxRetryAfter: Duration.decode(options?.retry?.maxRetryAfter ?? Duration.seconds(60)),
  timeout: Duration.decode(options?.timeout ?? Duration.seconds(60))
})

/** @internal */
export interface Call {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH"
  /** A path below the registry (`/v2/...`) or an absolute URL (an upload `Location`, a `Link`). */
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Made again for every attempt and redirect: a stream body is pulled afresh each time. */
  readonly body?: (() => HttpBody.HttpBody) | undefined
  readonly scopes: ReadonlyArray<string>
}

/** One request on the wire, following redirects, with the given Authorization header (if any). */
export type Exchange = (
  registry: string,
  call: Call,
  url: string,
  authorization: string | undefined
) => Effect.Effect<HttpClientResponse.HttpClientResponse, Failure>

export const errorFrom = (
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

export const failWith = (
  registry: string,
  response: HttpClientResponse.HttpClientResponse,
  reason?: RegistryReason
): Effect.Effect<never, RegistryError> => Effect.flatMap(errorFrom(registry, response, reason), Effect.fail)

export const protocolError = (
  registry: string,
  response: HttpClientResponse.HttpClientResponse | undefined,
  detail: string,
  reason: RegistryReason = "protocol"
): RegistryError =>
  new RegistryError({
    registry,
    reason,
    request: response === undefined ? undefined : Http.describeRequest(response.request.method, response.request.url),
    status: response?.status,
    detail
  })

export const transportError = (registry: string, method: string, url: string, cause: unknown): Transient => {
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
            ? `the TLS handshake failed (${code}): the registry's certificate is not trusted here, or it does not speak TLS`
            : `the connection failed (${code})`,
      ...(tls ? { tls } : {}),
      // The underlying socket error only: the request object holds the Authorization header.
      cause: inner instanceof Error ? new Error(inner.message) : undefined
    }),
    undefined,
    !tls,
    code === undefined || !certificateFailure.test(code)
  )
}

export const readDocument = (
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

export const decodeJson = <A, I>(
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

export const checkRepository = (repository: Repository): Effect.Effect<void, RegistryError> =>
  repositoryPattern.test(repository.repository) && repository.repository.length <= 255
    ? Effect.void
    : Effect.fail(
        new RegistryError({
          registry: repository.registry,
          reason: "protocol",
          detail: `${JSON.stringify(repository.repository)} is not a repository name`
        })
      )

export const checkReference = (repository: Repository, reference: string): Effect.Effect<void, RegistryError> =>
  tagPattern.test(reference) || Digest.is(reference)
    ? checkRepository(repository)
    : Effect.fail(
        new RegistryError({
          registry: repository.registry,
          reason: "protocol",
          detail: `${JSON.stringify(reference)} is neither a tag nor a digest`
        })
      )

export const registryOf = (repository: Repository): string => ImageReference.normaliseRegistry(repository.registry)

export const manifestPath = (repository: Repository, reference: string): string =>
  `/v2/${repository.repository}/manifests/${reference}`

export const contentTypeOf = (response: HttpClientResponse.HttpClientResponse): string | undefined =>
  Http.header(response, "content-type")?.split(";")[0]?.trim().toLowerCase()

export const decodeDigest = (registry: string, text: string): Effect.Effect<Digest.Digest, RegistryError> =>
  Option.match(Digest.parse(text), {
    onNone: () => Effect.fail(new RegistryError({ registry, reason: "protocol", detail: `${text} is not a digest` })),
    onSome: Effect.succeed
  })
