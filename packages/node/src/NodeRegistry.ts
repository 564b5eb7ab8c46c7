/**
 * The `RegistryClient` on Node: http(s) through undici connection pools with the system CAs (plus a
 * `--ca-file`), credentials from docker's and podman's files and helpers, and the `node:crypto` hasher. Load it
 * only where registries are used: it brings in the HTTP client. The pools close with the layer's scope: use the
 * client inside it (a client taken out of `Effect.provide` and used afterwards fails as unavailable).
 *
 * @since 0.1.0
 */
import type * as Credentials from "@ocidx/core/Credentials"
import type { ReadError } from "@ocidx/core/Errors"
import type * as RegistryClient from "@ocidx/core/RegistryClient"
import type { Layer } from "effect"
import * as internal from "./internal/nodeRegistry.js"

/**
 * @since 0.1.0
 * @category model
 */
export interface Options extends RegistryClient.Options {
  /** A PEM file of CA certificates trusted besides the system ones (a private registry's CA). */
  readonly caFile?: string | undefined
  /**
   * Registries whose certificate is not verified and which may be spoken to in plain http, or `true` for
   * all of them (`--insecure`).
   */
  readonly insecure?: ReadonlyArray<string> | boolean | undefined
  /** Where credentials are read (default: docker's and podman's usual places). */
  readonly credentials?: Credentials.Options | undefined
}

/**
 * The `RegistryClient` with everything it needs on Node: credentials from `Credentials.layer`. Fails with
 * a `ReadError` when `caFile` cannot be read.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: (options?: Options) => Layer.Layer<RegistryClient.RegistryClient, ReadError> = internal.layer

/**
 * The `RegistryClient` on Node with the credentials left to provide: `Credentials.layerStatic(...)` for a
 * program that has its own, say.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerWithoutCredentials: (
  options?: Options
) => Layer.Layer<RegistryClient.RegistryClient, ReadError, Credentials.CredentialStore> =
  internal.layerWithoutCredentials
