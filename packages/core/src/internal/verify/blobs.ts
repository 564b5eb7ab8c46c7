/**
 * verify, phase 4: digests and sizes. Hashes every reachable blob the walk has not read, in batches, then
 * compares what the descriptors claim (size, embedded data) with what is there.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type { BlobStore } from "../../BlobStore.js"
import * as Digest from "../../Digest.js"
import { BlobNotFound, DigestMismatch } from "../../Errors.js"
import { Hasher } from "../../Hasher.js"
import type { Finding } from "../../Layout.js"
import type { BlobToHash, HashResult, LayoutFiles } from "../../LayoutFiles.js"
import { type BlobFailure, blobFailure, digestOf, finding, type Occurrences } from "./finding.js"
import type { Graph } from "./graph.js"

/** What hashing found, and every blob read to its end with its actual size. @internal */
export interface BlobsCheck {
  readonly checked: ReadonlyMap<Digest.Digest, number>
  readonly findings: ReadonlyArray<Finding>
}

/** A batch ends at this many blobs, or once their claimed sizes reach `batchBytes`: progress moves per batch. */
const batchCount = 512
const batchBytes = 64 * 1024 * 1024

/** The pending digests in walk order, cut into batches. */
const batchesOf = (
  pending: ReadonlyArray<Digest.Digest>,
  graph: Graph
): ReadonlyArray<ReadonlyArray<Digest.Digest>> => {
  const batches: Array<Array<Digest.Digest>> = []
  let current: Array<Digest.Digest> = []
  let bytes = 0
  for (const digest of pending) {
    current.push(digest)
    bytes += graph.reachable.get(digest)?.size ?? 0
    if (current.length >= batchCount || bytes >= batchBytes) {
      batches.push(current)
      current = []
      bytes = 0
    }
  }
  if (current.length > 0) batches.push(current)
  return batches
}

/** The error `BlobStore.stream` would fail with for a blob that hashed to `result`; undefined when it is intact. */
const failureOf = (file: string, digest: Digest.Digest, result: HashResult): BlobFailure | undefined => {
  switch (result._tag) {
    case "Ok":
      return undefined
    case "Mismatch":
      return new DigestMismatch({
        path: file,
        expectedDigest: digest,
        actualDigest: result.actualDigest,
        actualSize: result.size
      })
    case "Missing":
      return new BlobNotFound({ path: file, digest })
    case "Failed":
      return result.error
  }
}

/** @internal */
export const check = (
  files: LayoutFiles,
  blobs: BlobStore,
  graph: Graph,
  options: {
    readonly strict: boolean
    readonly onProgress?: ((done: number, total: number) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<BlobsCheck, never, Hasher> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const pending = [...graph.reachable.keys()].filter(
      (digest) => !graph.checked.has(digest) && !graph.settled.has(digest)
    )
    const total = graph.reachable.size
    const progress = options.onProgress
    let done = total - pending.length
    if (progress && total > 0) yield* progress(done, total)
    // Hashed in batches, each one platform step: a small blob costs a few system calls, not fiber steps.
    // Settled as each batch comes back, in the order of the walk, not of completion, so a report does not
    // depend on timing; an intact blob costs its entry in `checked` and nothing else.
    const checked = new Map(graph.checked)
    const hashFindings: Array<Finding> = []
    for (const batch of batchesOf(pending, graph)) {
      const toHash = batch.map((digest): BlobToHash => ({ path: blobs.pathOf(digest), digest }))
      const hashed = yield* files.hashBlobs(toHash)
      for (const [i, result] of hashed.entries()) {
        const blob = toHash[i]
        if (blob === undefined) continue
        const { digest, path: file } = blob
        if (result._tag === "Ok") {
          checked.set(digest, result.size)
          continue
        }
        const error = failureOf(file, digest, result)
        if (error === undefined) continue
        const failure = blobFailure(file, digest, error, { strict: options.strict, occurrences: graph.occurrences })
        if (failure.actualSize !== undefined) checked.set(digest, failure.actualSize)
        // A loop, not push(...): a list can be longer than a call takes arguments.
        for (const found of failure.findings) hashFindings.push(found)
      }
      done += batch.length
      if (progress) yield* progress(done, total)
    }

    const dataFindings = yield* embeddedDataFindings(hasher, graph.occurrences)
    return {
      checked,
      findings: [...hashFindings, ...sizeFindings(blobs, checked, graph.occurrences), ...dataFindings]
    }
  })

/**
 * Every descriptor whose size is not its blob's, once per wrong size; and blobs only their size vouches for.
 * A loop that allocates only for what it reports: nearly every blob has nothing to report.
 */
const sizeFindings = (
  blobs: BlobStore,
  checked: ReadonlyMap<Digest.Digest, number>,
  occurrences: Occurrences
): ReadonlyArray<Finding> => {
  const findings: Array<Finding> = []
  for (const [digest, actualSize] of checked) {
    let wrongSizes: Map<number, string> | undefined
    for (const { descriptor, from } of occurrences.get(digest) ?? []) {
      if (descriptor.size === actualSize || wrongSizes?.has(descriptor.size)) continue
      wrongSizes ??= new Map()
      wrongSizes.set(descriptor.size, from)
    }
    const verifiable = Digest.isVerifiable(digest)
    if (wrongSizes === undefined && verifiable) continue
    const file = blobs.pathOf(digest)
    for (const [size, from] of wrongSizes ?? []) {
      findings.push(
        finding(
          "error",
          "blob-size-mismatch",
          `${file} is ${actualSize} bytes, but the descriptor in ${from} says ${size}`,
          {
            path: file,
            digest
          }
        )
      )
    }
    if (!verifiable) {
      findings.push(
        finding(
          "info",
          "blob-unverifiable",
          `${file}: ocidx cannot compute ${Digest.algorithm(digest)} digests, so only the blob's size was checked`,
          { path: file, digest }
        )
      )
    }
  }
  return findings
}

/** Descriptors whose embedded `data` is not the content they describe; an effect only for those that embed it. */
const embeddedDataFindings = (hasher: Hasher, occurrences: Occurrences): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    const findings: Array<Finding> = []
    for (const [digest, list] of occurrences) {
      for (const { descriptor, from } of list) {
        if (descriptor.data === undefined) continue
        const problem = yield* checkData(hasher, descriptor.data, digest, descriptor.size)
        if (problem !== undefined) {
          findings.push(finding("error", "data-mismatch", `${from}: ${problem}`, { path: from, digest }))
        }
      }
    }
    return findings
  })

/** Why a descriptor's embedded `data` is not the content it describes, or undefined when it is. */
const checkData = (hasher: Hasher, data: string, digest: Digest.Digest, size: number) =>
  Effect.gen(function* () {
    const bytes = Encoding.decodeBase64(data)
    if (Either.isLeft(bytes)) return "the embedded data is not valid base64"
    if (bytes.right.length !== size) return `the embedded data is ${bytes.right.length} bytes, but size is ${size}`
    const actual = yield* digestOf(hasher, digest, bytes.right)
    return actual === undefined || actual === digest
      ? undefined
      : `the embedded data hashes to ${actual}, not ${digest}`
  })
