/**
 * Locations in skopeo's transport syntax.
 * @internal
 */
import * as Either from "effect/Either"
import type { Location } from "../../Copy.js"
import { InvalidReference } from "../../Errors.js"
import * as ImageReference from "../imageReference.js"

/** The transports ocidx names, in the order its messages list them. @internal */
export const transports = ["oci:", "docker://", "oci-archive:", "docker-archive:"] as const

/** Whether `text` starts with a transport ocidx knows (copying through it may still be unsupported). @internal */
export const hasKnownTransport = (text: string): boolean => transports.some((prefix) => text.startsWith(prefix))

/**
 * `<dir>[:<name-or-tag>]`, split at the first colon as skopeo splits `oci:` references: a directory whose path
 * holds a colon must be named some other way (a relative path, or a symlink). An empty name is no name.
 * @internal
 */
export const parseLayout = (text: string, value: string = text): Either.Either<Location, InvalidReference> => {
  const colon = text.indexOf(":")
  const directory = colon === -1 ? text : text.slice(0, colon)
  const reference = colon === -1 ? "" : text.slice(colon + 1)
  if (directory === "") return Either.left(new InvalidReference({ value, problem: "the layout directory is missing" }))
  return Either.right({ _tag: "Layout", directory, reference: reference === "" ? undefined : reference })
}

/** @internal */
export const parseLocation = (text: string): Either.Either<Location, InvalidReference> => {
  if (text.startsWith("docker://")) {
    return Either.map(ImageReference.parse(text.slice("docker://".length)), (reference) => ({
      _tag: "Registry" as const,
      reference
    }))
  }
  if (text.startsWith("oci:")) return parseLayout(text.slice("oci:".length), text)
  for (const [archive, format] of [
    ["oci-archive:", "oci"],
    ["docker-archive:", "docker"]
  ] as const) {
    if (text.startsWith(archive)) {
      return Either.map(parseLayout(text.slice(archive.length), text), (parsed) => ({
        _tag: "Archive" as const,
        format,
        file: parsed._tag === "Layout" ? parsed.directory : "",
        reference: parsed._tag === "Layout" ? parsed.reference : undefined
      }))
    }
  }
  return Either.left(
    new InvalidReference({
      value: text,
      problem: "expected a transport: oci:<dir>[:<name-or-tag>] or docker://<registry>/<repository>[:<tag>|@<digest>]"
    })
  )
}

/** The location as `parseLocation` reads it back. @internal */
export const formatLocation = (location: Location): string =>
  location._tag === "Layout"
    ? `oci:${location.directory}${location.reference === undefined ? "" : `:${location.reference}`}`
    : location._tag === "Archive"
      ? `${location.format}-archive:${location.file}${location.reference === undefined ? "" : `:${location.reference}`}`
      : `docker://${ImageReference.format(location.reference)}`
