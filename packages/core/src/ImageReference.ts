/**
 * References to images in a registry, as docker and skopeo spell them: `[registry/]repository[:tag][@digest]`.
 * `docker.io` (and `index.docker.io`, and no registry at all) means Docker Hub, whose API lives at
 * `registry-1.docker.io` and whose one-word repositories live under `library/`.
 *
 * @since 0.1.0
 */
import type { Digest } from "./Digest.js"

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
