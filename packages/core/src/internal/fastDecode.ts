/**
 * A validator for index.json without Schema's per-node cost, for the common case of a valid file: a put
 * into a 10,000-entry index must not spend its time re-validating 10,000 untouched entries through Schema.
 * It accepts only what the schemas accept (a property test holds it to that); whatever it rejects goes
 * through Schema, which then produces the detailed error.
 * @internal
 */
import type { Descriptor } from "../Descriptor.js"
import * as Digest from "../Digest.js"
import type { ImageIndex } from "../ImageIndex.js"
import { ociIndex } from "../MediaType.js"
import * as rules from "./rules.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isString = (u: unknown): u is string => typeof u === "string"

const isStringArray = (u: unknown): boolean => Array.isArray(u) && u.every(isString)

const isMediaType = (u: unknown): boolean => isString(u) && rules.isMediaType(u)

const isOptional = (u: unknown, check: (u: unknown) => boolean): boolean => u === undefined || check(u)

const isAnnotations = (u: unknown): boolean => {
  if (!isRecord(u)) return false
  for (const key in u) {
    if (!Object.hasOwn(u, key)) continue
    if (!rules.isAnnotationKey(key) || !isString(u[key])) return false
  }
  return true
}

const isNonEmptyString = (u: unknown): boolean => isString(u) && u.length > 0

const isPlatform = (u: unknown): boolean =>
  isRecord(u) &&
  isNonEmptyString(u.architecture) &&
  isNonEmptyString(u.os) &&
  isOptional(u["os.version"], isString) &&
  isOptional(u["os.features"], isStringArray) &&
  isOptional(u.variant, isString) &&
  isOptional(u.features, isStringArray)

// What nearly every digest is. Such a string is valid by Digest's rules (grammar, registered algorithm, length
// and lowercase hex), so it needs none of their slicing and lookups; any other goes through them.
const commonDigest = /^sha256:[a-f0-9]{64}$/

const isDigest = (u: unknown): boolean => isString(u) && (commonDigest.test(u) || Digest.problem(u) === undefined)

/** @internal */
export const isDescriptor = (u: unknown): u is Descriptor => {
  if (!isRecord(u)) return false
  const { data, digest, size } = u
  return (
    isMediaType(u.mediaType) &&
    isDigest(digest) &&
    typeof size === "number" &&
    rules.sizeProblem(size) === undefined &&
    isOptional(u.urls, (urls) => Array.isArray(urls) && urls.every((url) => isString(url) && rules.isUri(url))) &&
    isOptional(u.annotations, isAnnotations) &&
    isOptional(data, (d) => isString(d) && rules.isBase64(d) && rules.base64DecodedLength(d) === size) &&
    isOptional(u.platform, isPlatform) &&
    isOptional(u.artifactType, isMediaType)
  )
}

const isImageIndex = (u: unknown): u is ImageIndex =>
  isRecord(u) &&
  u.schemaVersion === 2 &&
  isOptional(u.mediaType, (mediaType) => mediaType === ociIndex) &&
  isOptional(u.artifactType, isMediaType) &&
  Array.isArray(u.manifests) &&
  u.manifests.every(isDescriptor) &&
  isOptional(u.subject, isDescriptor) &&
  isOptional(u.annotations, isAnnotations)

/**
 * The parsed JSON as an `ImageIndex` when it is a valid one (the entries are the parsed objects
 * themselves, so their key order is the file's), or `undefined` to let Schema decide and explain.
 * @internal
 */
export const decodeIndex = (raw: unknown): ImageIndex | undefined => {
  // umoci writes "manifests": null for an empty index; the schema reads it as [].
  const candidate = isRecord(raw) && raw.manifests === null ? { ...raw, manifests: [] } : raw
  return isImageIndex(candidate) ? candidate : undefined
}
