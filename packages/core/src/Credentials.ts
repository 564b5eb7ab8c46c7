/**
 * Registry credentials, found where docker, podman and skopeo keep them: `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json` (`auths`, `credHelpers`, `credsStore`), then `$REGISTRY_AUTH_FILE` or
 * `$XDG_RUNTIME_DIR/containers/auth.json`. A secret never appears in an error, a log or any output.
 *
 * @since 0.1.0
 */
import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { CredentialError } from "./Errors.js"

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
