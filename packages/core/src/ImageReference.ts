/**
 * References to images in a registry, as docker and skopeo spell them: `[registry/]repository[:tag][@digest]`.
 * `docker.io` (and `index.docker.io`, and no registry at all) means Docker Hub, whose API lives at
 * `registry-1.docker.io` and whose one-word repositories live under `library/`.
 *
 * @since 0.1.0
 */
import type { Either } from "effect"
import type { Digest } from "./Digest.js"
import type { InvalidReference } from "./Errors.js"
import * as internal from "./internal/imageReference.js"

/**
 * A parsed, normalised registry reference.
 *
 * @since 0.1.0
 * @category model
 */
export interface ImageReference {
  /** The registry as named, normalised: `docker.io` for Docker Hub, else `host[:port]` in lower case. */
  readonly registry: string
  /** The repository path, e.g. `library/alpine` or `org/app`. */
  readonly repository: string
  readonly tag?: string | undefined
  readonly digest?: Digest | undefined
}

/**
 * Docker Hub's name, which every one of its aliases (`index.docker.io`, `registry-1.docker.io`, no registry at
 * all) normalises to.
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerHub: string = internal.dockerHub

/**
 * The host that serves Docker Hub's registry API.
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerHubEndpoint: string = internal.dockerHubEndpoint

/**
 * The key docker writes Docker Hub's credentials under in config.json `auths`.
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerHubConfigKey: string = internal.dockerHubConfigKey

/**
 * Parses `[registry/]repository[:tag][@digest]` (without `docker://`) and normalises it as docker does: the
 * first component is a registry when it contains `.` or `:` or is `localhost`, else the reference is Docker
 * Hub's, where a one-component repository lives under `library/`. `ubuntu` is
 * `{ registry: "docker.io", repository: "library/ubuntu" }`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const parse: (text: string) => Either.Either<ImageReference, InvalidReference> = internal.parse

/**
 * Parses a registry as `docker login` takes it, `host[:port]` or a URL (`https://ghcr.io/v2/`), and
 * normalises it: lower case, `docker.io` for Docker Hub's aliases.
 *
 * @since 0.1.0
 * @category constructor
 */
export const parseRegistry: (text: string) => Either.Either<string, InvalidReference> = internal.parseRegistry

/**
 * The canonical string of a reference: `docker.io/library/ubuntu:24.04`, `localhost:5000/a@sha256:...`.
 * `parse(format(ref))` gives `ref` back.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format: (reference: ImageReference) => string = internal.format

/**
 * A registry name normalised: lower case, and `docker.io` for every Docker Hub alias.
 *
 * @since 0.1.0
 * @category normalisation
 */
export const normaliseRegistry: (registry: string) => string = internal.normaliseRegistry

/**
 * The host (and port) that serves a registry's API: `registry-1.docker.io` for `docker.io`, else the
 * registry itself.
 *
 * @since 0.1.0
 * @category getter
 */
export const endpoint: (registry: string) => string = internal.endpoint

/**
 * The config.json `auths` keys that hold a registry's credentials, the preferred first: for Docker Hub
 * `https://index.docker.io/v1/` and its aliases, else `host[:port]` and the URL forms docker also reads.
 *
 * @since 0.1.0
 * @category getter
 */
export const configKeys: (registry: string) => ReadonlyArray<string> = internal.configKeys

/**
 * The `auths` key `docker login` writes a registry's credentials under.
 *
 * @since 0.1.0
 * @category getter
 */
export const configKey: (registry: string) => string = internal.configKey

/**
 * Whether an `auths` key names this registry, by docker's rule: the key's host, without scheme or path
 * (`https://ghcr.io/v1/` names `ghcr.io`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const matchesConfigKey: (registry: string, key: string) => boolean = internal.matchesConfigKey

/**
 * The key among `keys` that holds a registry's credentials: an exact `configKeys` key first, else the first
 * key that `matchesConfigKey`.
 *
 * @since 0.1.0
 * @category getter
 */
export const findConfigKey: (registry: string, keys: Iterable<string>) => string | undefined = internal.findConfigKey

/**
 * Whether a registry is on this machine's loopback (`localhost`, `127.0.0.0/8`, `::1`, with or without a
 * port), the only place plain http is used without `--insecure`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLoopback: (registry: string) => boolean = internal.isLoopback
