/** @internal */
import * as Either from "effect/Either"
import * as Digest from "../Digest.js"
import { InvalidReference } from "../Errors.js"
import type { ImageReference } from "../ImageReference.js"
import { quote } from "../Text.js"

/** @internal */
export const dockerHub = "docker.io"
/** @internal */
export const dockerHubEndpoint = "registry-1.docker.io"
/** @internal */
export const dockerHubConfigKey = "https://index.docker.io/v1/"

const dockerHubAliases: ReadonlySet<string> = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"])

// The distribution reference grammar (distribution/reference/regexp.go).
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
const registryPattern = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`
)
const tagPattern = /^[\w][\w.-]{0,127}$/
// Docker refuses a name (registry and repository) longer than this.
const nameTotalLengthMax = 255

const refuse = (value: string, problem: string): Either.Either<ImageReference, InvalidReference> =>
  Either.left(new InvalidReference({ value, problem }))

/** @internal */
export const normaliseRegistry = (registry: string): string => {
  const lower = registry.toLowerCase()
  return dockerHubAliases.has(lower) ? dockerHub : lower
}

// Docker's rule: the first component names a registry only when it looks like a host.
const looksLikeRegistry = (component: string): boolean =>
  component.includes(".") || component.includes(":") || component === "localhost"

/** @internal */
export const parse = (text: string): Either.Either<ImageReference, InvalidReference> => {
  if (text === "") return refuse(text, "an image reference cannot be empty")
  if (text.includes("://")) {
    return refuse(text, "write the reference without a scheme, e.g. ghcr.io/org/app:v1 (docker:// is the transport)")
  }
  const at = text.indexOf("@")
  const named = at === -1 ? text : text.slice(0, at)
  const digestText = at === -1 ? undefined : text.slice(at + 1)
  let digest: Digest.Digest | undefined
  if (digestText !== undefined) {
    const problem = Digest.problem(digestText)
    if (problem !== undefined) return refuse(text, problem)
    const parsed = Digest.parse(digestText)
    if (parsed._tag === "None") return refuse(text, `${quote(digestText)} is not a digest`)
    digest = parsed.value
  }

  const slash = named.indexOf("/")
  const first = slash === -1 ? undefined : named.slice(0, slash)
  const hasRegistry = first !== undefined && looksLikeRegistry(first)
  const registryText = hasRegistry ? first : undefined
  const remainder = hasRegistry ? named.slice(slash + 1) : named

  // A tag's colon comes after the last slash; any colon before it belongs to the registry's port.
  const lastSlash = remainder.lastIndexOf("/")
  const colon = remainder.indexOf(":", lastSlash + 1)
  const repositoryText = colon === -1 ? remainder : remainder.slice(0, colon)
  const tag = colon === -1 ? undefined : remainder.slice(colon + 1)

  if (registryText !== undefined && !registryPattern.test(registryText)) {
    return refuse(
      text,
      `${quote(registryText)} is not a registry host: expected host[:port], e.g. ghcr.io or localhost:5000`
    )
  }
  if (repositoryText === "") return refuse(text, "the repository name is missing")
  for (const component of repositoryText.split("/")) {
    if (pathComponent.test(component)) continue
    if (component !== "" && pathComponent.test(component.toLowerCase())) {
      return refuse(
        text,
        `the repository name must be lowercase (${quote(component)})${registryText === undefined && component === first ? "; a registry host contains a dot or a port, or is localhost" : ""}`
      )
    }
    return refuse(
      text,
      `${quote(component)} is not a valid repository path component: use lowercase letters and digits, separated by ".", "_", "__" or dashes`
    )
  }
  if (tag !== undefined && !tagPattern.test(tag)) {
    return refuse(
      text,
      `${quote(tag)} is not a valid tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`
    )
  }
  if (named.length > nameTotalLengthMax) {
    return refuse(text, `the name is longer than ${nameTotalLengthMax} characters`)
  }

  const registry = registryText === undefined ? dockerHub : normaliseRegistry(registryText)
  const repository =
    registry === dockerHub && !repositoryText.includes("/") ? `library/${repositoryText}` : repositoryText
  return Either.right({ registry, repository, tag, digest })
}

/**
 * A registry as `docker login` takes it: `host[:port]`, or a URL whose scheme and path are dropped.
 * @internal
 */
export const parseRegistry = (text: string): Either.Either<string, InvalidReference> => {
  const withoutScheme = text.replace(/^https?:\/\//i, "")
  const slash = withoutScheme.indexOf("/")
  const host = slash === -1 ? withoutScheme : withoutScheme.slice(0, slash)
  return registryPattern.test(host)
    ? Either.right(normaliseRegistry(host))
    : Either.left(
        new InvalidReference({
          value: text,
          problem: "a registry is host[:port], e.g. ghcr.io, docker.io or localhost:5000"
        })
      )
}

/** @internal */
export const format = (reference: ImageReference): string =>
  `${reference.registry}/${reference.repository}${reference.tag === undefined ? "" : `:${reference.tag}`}${reference.digest === undefined ? "" : `@${reference.digest}`}`

/** @internal */
export const endpoint = (registry: string): string => {
  const normalised = normaliseRegistry(registry)
  return normalised === dockerHub ? dockerHubEndpoint : normalised
}

/** @internal */
export const configKeys = (registry: string): ReadonlyArray<string> => {
  const normalised = normaliseRegistry(registry)
  if (normalised === dockerHub) {
    return [
      dockerHubConfigKey,
      "index.docker.io",
      "docker.io",
      "registry-1.docker.io",
      "https://index.docker.io",
      "https://registry-1.docker.io",
      "https://docker.io"
    ]
  }
  return [
    normalised,
    `https://${normalised}`,
    `http://${normalised}`,
    `https://${normalised}/v1/`,
    `http://${normalised}/v1/`
  ]
}

/** @internal */
export const configKey = (registry: string): string => {
  const normalised = normaliseRegistry(registry)
  return normalised === dockerHub ? dockerHubConfigKey : normalised
}

// docker's ConvertToHostname: drop the scheme and everything from the first slash.
const keyHost = (key: string): string => {
  const withoutScheme = key.replace(/^https?:\/\//i, "")
  const slash = withoutScheme.indexOf("/")
  return slash === -1 ? withoutScheme : withoutScheme.slice(0, slash)
}

/** @internal */
export const matchesConfigKey = (registry: string, key: string): boolean =>
  normaliseRegistry(keyHost(key)) === normaliseRegistry(registry)

/** @internal */
export const findConfigKey = (registry: string, keys: Iterable<string>): string | undefined => {
  const present = [...keys]
  const exact = configKeys(registry).find((key) => present.includes(key))
  return exact ?? present.find((key) => matchesConfigKey(registry, key))
}

const hostOf = (registry: string): string => {
  if (registry.startsWith("[")) {
    const close = registry.indexOf("]")
    return close === -1 ? registry : registry.slice(1, close)
  }
  // A bare IPv6 address (more than one colon) has no port.
  if (registry.indexOf(":") !== registry.lastIndexOf(":")) return registry
  const colon = registry.indexOf(":")
  return colon === -1 ? registry : registry.slice(0, colon)
}

const ipv4Loopback =
  /^127\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

const isIpv6Loopback = (host: string): boolean => {
  if (!/^[0-9a-f:]+$/.test(host)) return false
  const halves = host.split("::")
  if (halves.length > 2) return false
  const groups = (part: string | undefined): Array<string> => (part === undefined || part === "" ? [] : part.split(":"))
  const head = groups(halves[0])
  const tail = groups(halves[1])
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return false
  const all = [...head, ...Array.from({ length: missing }, () => "0"), ...tail]
  return (
    all.every((group) => /^[0-9a-f]{1,4}$/.test(group)) &&
    all.slice(0, 7).every((group) => /^0+$/.test(group)) &&
    /^0*1$/.test(all[7] ?? "")
  )
}

/** @internal */
export const isLoopback = (registry: string): boolean => {
  const host = hostOf(registry.toLowerCase())
  return host === "localhost" || ipv4Loopback.test(host) || isIpv6Loopback(host)
}
