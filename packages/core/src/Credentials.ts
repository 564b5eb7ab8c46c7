/**
 * Registry credentials, found where docker, podman and skopeo keep them: `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json` (`auths`, `credHelpers`, `credsStore`), then `$REGISTRY_AUTH_FILE` or
 * `$XDG_RUNTIME_DIR/containers/auth.json`. A secret never appears in an error, a log or any output.
 *
 * @since 0.1.0
 */
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import type { Effect, Layer, Option } from "effect"
import * as Context from "effect/Context"
import type { CredentialError } from "./Errors.js"
import * as internal from "./internal/credentials/store.js"

/**
 * What a registry is given: a user and password, or an identity token (an OAuth2 refresh token, from
 * `identitytoken` or a helper answering with the user `<token>`).
 *
 * @since 0.1.0
 * @category model
 */
export type Credential =
  | { readonly _tag: "Password"; readonly username: string; readonly password: string }
  | { readonly _tag: "IdentityToken"; readonly token: string }

/**
 * Where `store` put a credential: the config file's `auths`, or a credential helper.
 *
 * @since 0.1.0
 * @category model
 */
export interface StoredIn {
  readonly _tag: "ConfigFile" | "Helper"
  /** The config file's path, or the helper's program name (`docker-credential-<name>`). */
  readonly location: string
}

/**
 * @since 0.1.0
 * @category model
 */
export interface CredentialStore {
  /** The credential for a registry (as `ImageReference.registry` names it), if any is configured. */
  readonly get: (registry: string) => Effect.Effect<Option.Option<Credential>, CredentialError>
  /** Stores a credential as `docker login` does: in the configured helper, else in config.json `auths`. */
  readonly store: (
    registry: string,
    credential: { readonly username: string; readonly password: string }
  ) => Effect.Effect<StoredIn, CredentialError>
  /** Removes a stored credential as `docker logout` does. `false` when there was none. */
  readonly erase: (registry: string) => Effect.Effect<boolean, CredentialError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const CredentialStore: Context.Tag<CredentialStore, CredentialStore> =
  Context.GenericTag<CredentialStore>("@ocidx/core/CredentialStore")

/**
 * Where `layer` looks, when not where docker and podman look by default.
 *
 * @since 0.1.0
 * @category model
 */
export interface Options {
  /** The directory holding config.json, instead of `$DOCKER_CONFIG` or `$HOME/.docker`. */
  readonly configDir?: string | undefined
  /** podman-style `auths` files read after config.json, instead of `$REGISTRY_AUTH_FILE` and
   * `$XDG_RUNTIME_DIR/containers/auth.json`. */
  readonly authFiles?: ReadonlyArray<string> | undefined
}

/**
 * The credential store docker, podman and skopeo share. `get` looks, in order, at config.json's
 * `credHelpers[registry]` helper, its `credsStore` helper, its `auths` (`auth`, `identitytoken`, or
 * `username`/`password`), then each podman `auths` file. `store` and `erase` work as `docker login` and
 * `docker logout` do: in the helper config.json names, else in config.json `auths` (rewritten atomically, mode
 * 0600, every other field kept). Environment variables are read through `Config`, so a `ConfigProvider`
 * sets them; helpers (`docker-credential-<name>`) are looked up on its `PATH`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: (
  options?: Options
) => Effect.Effect<CredentialStore, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =
  internal.make

/**
 * `make` as a layer.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: (
  options?: Options
) => Layer.Layer<CredentialStore, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =
  internal.layer

/**
 * An in-memory store holding `entries` (keyed by registry; Docker Hub's aliases are one), for tests and for
 * programs that get credentials elsewhere. `store` reports the location `memory`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const makeStatic: (entries?: Readonly<Record<string, Credential>>) => CredentialStore = internal.makeStatic

/**
 * `makeStatic` as a layer, fresh for each build.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerStatic: (entries?: Readonly<Record<string, Credential>>) => Layer.Layer<CredentialStore> =
  internal.layerStatic
