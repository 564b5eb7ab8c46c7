/**
 * What the verify phases share: building a finding, the duplicate-key scan, where each descriptor was seen,
 * and the findings for a blob that could not be read or hashed.
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Descriptor } from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { type BlobNotFound, type DigestMismatch, formatPath, type ReadError } from "../../Errors.js"
import type { Hasher } from "../../Hasher.js"
import type { Finding, FindingCode, Severity } from "../../Layout.js"
import type { DuplicateKey } from "../jsonDuplicateKeys.js"

/** @internal */
export const finding = (
  severity: Severity,
  code: FindingCode,
  message: string,
  where?: { readonly path?: string | undefined; readonly digest?: string | undefined }
): Finding => ({ severity, code, message, ...where })

/** One `duplicate-key` finding per repeated key of a JSON text. @internal */
export const duplicateKeyFindings = (
  file: string,
  duplicates: ReadonlyArray<DuplicateKey>,
  digest?: string
): ReadonlyArray<Finding> =>
  duplicates.map((duplicate) =>
    finding(
      "error",
      "duplicate-key",
      `${file}: the key ${formatPath([...duplicate.path, duplicate.key])} appears more than once; readers disagree on which value counts (the OCI spec forbids duplicate keys)`,
      { path: file, digest }
    )
  )

/**
 * What `bytes` hash to with `digest`'s algorithm (`sha256:…`), or undefined for an algorithm ocidx cannot
 * compute, where only the size can be checked.
 * @internal
 */
export const digestOf = (
  hasher: Hasher,
  digest: Digest.Digest,
  bytes: Uint8Array
): Effect.Effect<string | undefined> => {
  const algorithm = Digest.algorithm(digest)
  if (!Digest.isAlgorithm(algorithm)) return Effect.succeed(undefined)
  const hash = hasher.make(algorithm)
  hash.update(bytes)
  return Effect.map(hash.digest, (hex) => `${algorithm}:${hex}`)
}

/** Where a descriptor was found: the file that holds it. @internal */
export interface Occurrence {
  readonly descriptor: Descriptor
  readonly from: string
}

/** Every place each digest is referenced from, in the order the walk met them. @internal */
export type Occurrences = ReadonlyMap<Digest.Digest, ReadonlyArray<Occurrence>>

/** ` (referenced from a, b)`, or nothing when no file is known to reference the digest. @internal */
export const referrers = (occurrences: Occurrences, digest: Digest.Digest): string => {
  const froms = [...new Set((occurrences.get(digest) ?? []).map((occurrence) => occurrence.from))]
  return froms.length === 0 ? "" : ` (referenced from ${froms.join(", ")})`
}

/** Why a referenced blob could not be read or is not its digest. @internal */
export type BlobFailure = BlobNotFound | ReadError | DigestMismatch

/**
 * The findings for a blob that could not be read to its end, or that hashes to another digest; and, for the
 * latter, the size actually read (the blob was read, so its size is checked too).
 * @internal
 */
export const blobFailure = (
  file: string,
  digest: Digest.Digest,
  error: BlobFailure,
  context: { readonly strict: boolean; readonly occurrences: Occurrences }
): { readonly findings: ReadonlyArray<Finding>; readonly actualSize: number | undefined } => {
  const where = { path: file, digest }
  switch (error._tag) {
    case "BlobNotFound":
      return {
        findings: [
          finding(
            context.strict ? "error" : "warning",
            "blob-missing",
            `blob ${digest} is referenced but not in the layout${referrers(context.occurrences, digest)}; add it to the blob store, or copy the image again`,
            where
          )
        ],
        actualSize: undefined
      }
    case "ReadError": {
      const code: FindingCode =
        error.reason === "symlink"
          ? "blob-symlink"
          : error.reason === "not-a-file"
            ? "blob-not-file"
            : "blob-unreadable"
      return { findings: [finding("error", code, error.message, where)], actualSize: undefined }
    }
    case "DigestMismatch":
      return {
        findings:
          error.actualDigest !== undefined && error.actualDigest !== error.expectedDigest
            ? [
                finding(
                  "error",
                  "blob-digest-mismatch",
                  `${file}: the content hashes to ${error.actualDigest}, not ${digest}; the blob is corrupt, fetch it again`,
                  where
                )
              ]
            : [],
        actualSize: error.actualSize
      }
  }
}
