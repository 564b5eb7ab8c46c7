/**
 * Validators for index.json, manifests and nested indexes without Schema's per-node cost, for the common case
 * of a valid document: a put into a 10,000-entry index must not spend its time re-validating 10,000 untouched
 * entries through Schema, nor a verify or gc of 10,000 blobs its time on thousands of small manifests. They
 * accept only what the schemas accept (property tests hold them to that); whatever they reject goes through
 * Schema, which then produces the detailed error.
 * @internal
 */
import type { Descriptor } from "../Descriptor.js"
import * as Digest from "../Digest.js"
import type { ImageIndex, NestedIndex } from "../ImageIndex.js"
import type { ImageManifest } from "../ImageManifest.js"
import { ociIndex } from "../MediaType.js"
import * as rules from "./rules.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isString = (u: unknown): u is string => typeof u === "string"

const isStringArray = (u: unknown): boolean => Array.isArray(u) && u.every(isString)

// The last media type, annotation key and digest found valid. The entries of an index mostly repeat a media
// type and a key or two, and the check of the one string the previous entry had is a comparison, where a
// regular expression run is a call into the RegExp engine for each of 10,000 entries of a cold process.
let validMediaType: string | undefined
let validKey: string | undefined
let validDigest: string | undefined

const isMediaType = (u: unknown): boolean => {
  if (u === validMediaType && u !== undefined) return true
  if (!isString(u) || !rules.isMediaType(u)) return false
  validMediaType = u
  return true
}

const isOptional = (u: unknown, check: (u: unknown) => boolean): boolean => u === undefined || check(u)

const isAnnotations = (u: unknown): boolean => {
  if (!isRecord(u)) return false
  for (const key in u) {
    if (!Object.hasOwn(u, key)) continue
    if (!isString(u[key])) return false
    if (key === validKey && key !== undefined) continue
    if (!rules.isAnnotationKey(key)) return false
    validKey = key
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

const isDigest = (u: unknown): boolean => {
  if (u === validDigest && u !== undefined) return true
  if (!isString(u) || !(commonDigest.test(u) || Digest.problem(u) === undefined)) return false
  validDigest = u
  return true
}

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

/** The fields index.json and a nested index share; they differ only in which `mediaType` they allow. */
const isIndexWith = (u: unknown, isIndexMediaType: (mediaType: unknown) => boolean): boolean =>
  isRecord(u) &&
  u.schemaVersion === 2 &&
  isOptional(u.mediaType, isIndexMediaType) &&
  isOptional(u.artifactType, isMediaType) &&
  Array.isArray(u.manifests) &&
  u.manifests.every(isDescriptor) &&
  isOptional(u.subject, isDescriptor) &&
  isOptional(u.annotations, isAnnotations)

const isImageIndex = (u: unknown): u is ImageIndex => isIndexWith(u, (mediaType) => mediaType === ociIndex)

const isNestedIndex = (u: unknown): u is NestedIndex => isIndexWith(u, isMediaType)

const isImageManifest = (u: unknown): u is ImageManifest =>
  isRecord(u) &&
  u.schemaVersion === 2 &&
  isOptional(u.mediaType, isMediaType) &&
  isOptional(u.artifactType, isMediaType) &&
  isDescriptor(u.config) &&
  Array.isArray(u.layers) &&
  u.layers.every(isDescriptor) &&
  isOptional(u.subject, isDescriptor) &&
  isOptional(u.annotations, isAnnotations)

/** umoci writes "manifests": null for an empty index; the schemas read it as []. */
const withNullManifests = (raw: unknown): unknown =>
  isRecord(raw) && raw.manifests === null ? { ...raw, manifests: [] } : raw

/**
 * The parsed JSON as an `ImageIndex` when it is a valid one (the entries are the parsed objects
 * themselves, so their key order is the file's), or `undefined` to let Schema decide and explain.
 * @internal
 */
export const decodeIndex = (raw: unknown): ImageIndex | undefined => {
  const candidate = withNullManifests(raw)
  return isImageIndex(candidate) ? candidate : undefined
}

/** A nested index blob (OCI index or Docker manifest list) as `decodeIndex` does index.json. @internal */
export const decodeNestedIndex = (raw: unknown): NestedIndex | undefined => {
  const candidate = withNullManifests(raw)
  return isNestedIndex(candidate) ? candidate : undefined
}

/** An image manifest as `decodeIndex` does index.json. @internal */
export const decodeManifest = (raw: unknown): ImageManifest | undefined => (isImageManifest(raw) ? raw : undefined)
