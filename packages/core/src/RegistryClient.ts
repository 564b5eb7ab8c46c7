/**
 * A client for OCI distribution registries (distribution-spec 1.1) on `@effect/platform`'s `HttpClient`:
 * manifests, blobs (streamed and verified, never buffered whole), cross-repository mounts, tags and
 * referrers, with anonymous, Basic and Bearer-token auth, retries with backoff, and redirects that never
 * carry the Authorization header to another origin.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform/HttpClient"
import type { Duration, Effect, Layer, Option, Stream } from "effect"
import * as Context from "effect/Context"
import type { CredentialStore } from "./Credentials.js"
import type { Descriptor } from "./Descriptor.js"
import type { Digest } from "./Digest.js"
import type { RegistryError } from "./Errors.js"
import type { Hasher } from "./Hasher.js"
import * as internal from "./internal/registry/client.js"

/**
 * A repository in a registry: `{ registry: "ghcr.io", repository: "org/app" }`.
 *
 * @since 0.1.0
 * @category model
 */
export interface Repository {
  readonly registry: string
  readonly repository: string
}

/**
 * A manifest as received: its exact bytes, and the descriptor computed from them (media type from the
 * content type or the document, digest and size over the bytes).
 *
 * @since 0.1.0
 * @category model
 */
export interface Manifest {
  readonly descriptor: Descriptor
  readonly bytes: Uint8Array
}

/**
 * What `uploadBlob` did: the blob was already there, was mounted from another repository, or was sent.
 *
 * @since 0.1.0
 * @category model
 */
export type UploadOutcome = "present" | "mounted" | "uploaded"

/**
 * @since 0.1.0
 * @category model
 */
export interface RegistryClient {
  /** `GET /v2/`: the registry answers and the credentials (if any) are accepted. */
  readonly ping: (registry: string) => Effect.Effect<void, RegistryError>
  /** A manifest by tag or digest; the digest is checked against the reference and `Docker-Content-Digest`. */
  readonly getManifest: (repository: Repository, reference: string) => Effect.Effect<Manifest, RegistryError>
  /** The manifest's descriptor without its body; `None` when there is no such manifest. */
  readonly headManifest: (
    repository: Repository,
    reference: string
  ) => Effect.Effect<Option.Option<Descriptor>, RegistryError>
  /** Puts a manifest under a tag or its digest; returns its digest. */
  readonly putManifest: (
    repository: Repository,
    reference: string,
    manifest: { readonly mediaType: string; readonly bytes: Uint8Array }
  ) => Effect.Effect<Digest, RegistryError>
  /** The blob's size, when the repository has it. */
  readonly headBlob: (repository: Repository, digest: Digest) => Effect.Effect<Option.Option<number>, RegistryError>
  /** The blob's bytes as they arrive, verified: the stream fails with "digest-mismatch" on wrong bytes or size. */
  readonly getBlob: (
    repository: Repository,
    descriptor: { readonly digest: Digest; readonly size: number }
  ) => Stream.Stream<Uint8Array, RegistryError>
  /**
   * Uploads a blob unless present: a cross-repository mount from `mountFrom` (same registry) when given,
   * else one streamed PUT, or PATCH chunks where the registry asks for them. `content` is pulled only when
   * the blob must be sent; it may be pulled again when a retry restarts the upload. It is asked for
   * `reuseBuffers` when the client is made with `reuseUploadBuffers` and sends the stream as it is pulled: the
   * content may then refill one buffer for each chunk.
   */
  readonly uploadBlob: <E>(
    repository: Repository,
    descriptor: { readonly digest: Digest; readonly size: number },
    content: (options?: { readonly reuseBuffers?: boolean | undefined }) => Stream.Stream<Uint8Array, E>,
    options?: { readonly mountFrom?: string | undefined }
  ) => Effect.Effect<UploadOutcome, E | RegistryError>
  /** Every tag, following `Link` pagination. */
  readonly listTags: (repository: Repository) => Effect.Effect<ReadonlyArray<string>, RegistryError>
  /**
   * The manifests that name `digest` as their subject: the referrers API, else the `<alg>-<hex>` tag schema.
   */
  readonly referrers: (
    repository: Repository,
    digest: Digest,
    options?: { readonly artifactType?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<Descriptor>, RegistryError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const RegistryClient: Context.Tag<RegistryClient, RegistryClient> =
  Context.GenericTag<RegistryClient>("@ocidx/core/RegistryClient")

/**
 * How the client talks to registries.
 *
 * @since 0.1.0
 * @category model
 */
export interface Options {
  /**
   * Registries (as `ImageReference.registry` names them) that may be spoken to in plain http when https
   * cannot connect, or `true` for every registry. Loopback registries (`localhost`, `127.0.0.0/8`, `::1`)
   * always may, as in docker. Accepting an unverified certificate is the HTTP client's part (`NodeRegistry`
   * does it).
   */
  readonly insecure?: ReadonlyArray<string> | boolean | undefined
  /**
   * Retries of 408, 429, 5xx answers and broken connections: `attempts` in all (default 5), with an
   * exponential, jittered delay from `baseDelay` (default 250 ms) capped at `maxDelay` (default 10 s); a
   * `Retry-After` answer waits as long as it asks, up to `maxRetryAfter` (default 60 s).
   */
  readonly retry?:
    | {
        readonly attempts?: number | undefined
        readonly baseDelay?: Duration.DurationInput | undefined
        readonly maxDelay?: Duration.DurationInput | undefined
        readonly maxRetryAfter?: Duration.DurationInput | undefined
      }
    | undefined
  /**
   * How long to wait for an answer, or for the next bytes of a download, before the connection counts as
   * broken (and is retried); default 60 s. An upload's body is never cut short.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** The `User-Agent` header; default `ocidx`. */
  readonly userAgent?: string | undefined
  /**
   * Whether the `HttpClient` is done with each buffer of a streamed request body, its bytes written, before it
   * pulls the next (`NodeRegistry`'s is). Uploads then ask their content for `reuseBuffers`, and a layout's blob
   * is read into one buffer, refilled for each chunk: no garbage per byte sent. Default false.
   */
  readonly reuseUploadBuffers?: boolean | undefined
}

/**
 * A client on the given `HttpClient`, with credentials from the `CredentialStore` and digests from the
 * `Hasher`. It keeps Bearer tokens (per registry and scope) for as long as they last.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (options?: Options) => Effect.Effect<RegistryClient, never, HttpClient | CredentialStore | Hasher> =
  internal.make

/**
 * Provides the `RegistryClient` made by `make`.
 *
 * @example
 * ```ts
 * import { Credentials, Hasher, RegistryClient, testing } from "@ocidx/core"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   client.listTags({ registry: "registry.test", repository: "app" })
 * )
 * // Offline: the client on the in-memory registry, with no credentials and WebCrypto digests.
 * const offline = RegistryClient.layer().pipe(
 *   Layer.provide(Layer.mergeAll(testing.layerRegistry(), Credentials.layerStatic(), Hasher.layerWebCrypto))
 * )
 * Effect.provide(program, offline)
 * ```
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: (options?: Options) => Layer.Layer<RegistryClient, never, HttpClient | CredentialStore | Hasher> =
  internal.layer
