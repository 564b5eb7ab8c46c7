/**
 * verify, phase 4: digests and sizes. Streams and hashes every reachable blob the walk has not read, a few at
 * a time, then compares what the descriptors claim (size, embedded data) with what is there.
 * @internal
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Either, Encoding, Option } from "effect"
import type { BlobStore } from "../../BlobStore.js"
import * as Digest from "../../Digest.js"
import { BlobNotFound, DigestMismatch } from "../../Errors.js"
import { Hasher } from "../../Hasher.js"
import type { Finding } from "../../Layout.js"
import { readChunks } from "../blobStore.js"
import { statRegularFile } from "../regularFile.js"
import { type BlobFailure, blobFailure, finding, type Occurrences } from "./finding.js"
import type { Graph } from "./graph.js"

/** What hashing found, and every blob read to its end with its actual size. @internal */
export interface BlobsCheck {
  readonly checked: ReadonlyMap<Digest.Digest, number>
  readonly findings: ReadonlyArray<Finding>
}

/** @internal */
export const check = (
  fs: FileSystem.FileSystem,
  blobs: BlobStore,
  graph: Graph,
  options: {
    readonly strict: boolean
    readonly concurrency: number
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
    const hashOne = (digest: Digest.Digest) =>
      readAndHash(fs, hasher, blobs.pathOf(digest), digest).pipe(
        Effect.either,
        Effect.tap(() => {
          done++
          return progress ? progress(done, total) : Effect.void
        })
      )
    const results = yield* Effect.forEach(pending, hashOne, { concurrency: options.concurrency })

    // Reported in the order of the walk, not of completion, so a report does not depend on timing.
    const checked = new Map(graph.checked)
    const hashFindings: Array<Finding> = []
    for (const [i, result] of results.entries()) {
      const digest = pending[i]
      if (digest === undefined) continue
      if (Either.isRight(result)) {
        checked.set(digest, result.right)
        continue
      }
      const failure = blobFailure(blobs.pathOf(digest), digest, result.left, {
        strict: options.strict,
        occurrences: graph.occurrences
      })
      if (failure.actualSize !== undefined) checked.set(digest, failure.actualSize)
      // A loop, not push(...): a list can be longer than a call takes arguments.
      for (const found of failure.findings) hashFindings.push(found)
    }
    const dataFindings = yield* embeddedDataFindings(hasher, graph.occurrences)
    return {
      checked,
      findings: [...hashFindings, ...sizeFindings(blobs, checked, graph.occurrences), ...dataFindings]
    }
  })

/**
 * Reads a blob to its end and hashes it, failing as `BlobStore.stream` would (a missing, symlinked or
 * non-regular file, a read error, a digest that differs), without a Stream's per-chunk cost.
 */
const readAndHash = (
  fs: FileSystem.FileSystem,
  hasher: Hasher,
  file: string,
  digest: Digest.Digest
): Effect.Effect<number, BlobFailure> =>
  Effect.gen(function* () {
    const present = yield* statRegularFile(fs, file)
    if (Option.isNone(present)) return yield* new BlobNotFound({ path: file, digest })
    const algorithm = Digest.algorithm(digest)
    const hash = Digest.isAlgorithm(algorithm) ? hasher.make(algorithm) : undefined
    const size = yield* readChunks(fs, file, present.value, (chunk) => hash?.update(chunk))
    // An algorithm ocidx cannot compute leaves only the size, which `sizeFindings` compares.
    const actualDigest = hash === undefined ? undefined : `${algorithm}:${yield* hash.digest}`
    if (actualDigest !== undefined && actualDigest !== digest) {
      return yield* new DigestMismatch({ path: file, expectedDigest: digest, actualDigest, actualSize: size })
    }
    return size
  })

/** Every descriptor whose size is not its blob's, once per wrong size; and blobs only their size vouches for. */
const sizeFindings = (
  blobs: BlobStore,
  checked: ReadonlyMap<Digest.Digest, number>,
  occurrences: Occurrences
): ReadonlyArray<Finding> =>
  [...checked].flatMap(([digest, actualSize]) => {
    const file = blobs.pathOf(digest)
    const wrongSizes = new Map<number, string>()
    for (const { descriptor, from } of occurrences.get(digest) ?? []) {
      if (descriptor.size !== actualSize && !wrongSizes.has(descriptor.size)) wrongSizes.set(descriptor.size, from)
    }
    const mismatches = [...wrongSizes].map(([size, from]) =>
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
    return Digest.isVerifiable(digest)
      ? mismatches
      : [
          ...mismatches,
          finding(
            "info",
            "blob-unverifiable",
            `${file}: ocidx cannot compute ${Digest.algorithm(digest)} digests, so only the blob's size was checked`,
            { path: file, digest }
          )
        ]
  })

/** Descriptors whose embedded `data` is not the content they describe. */
const embeddedDataFindings = (hasher: Hasher, occurrences: Occurrences): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.forEach(
    [...occurrences].flatMap(([digest, list]) => list.map((occurrence) => ({ digest, ...occurrence }))),
    ({ descriptor, digest, from }) =>
      descriptor.data === undefined
        ? Effect.succeed([])
        : Effect.map(checkData(hasher, descriptor.data, digest, descriptor.size), (problem) =>
            problem === undefined
              ? []
              : [finding("error", "data-mismatch", `${from}: ${problem}`, { path: from, digest })]
          )
  ).pipe(Effect.map((perOccurrence) => perOccurrence.flat()))

/** Why a descriptor's embedded `data` is not the content it describes, or undefined when it is. */
const checkData = (hasher: Hasher, data: string, digest: Digest.Digest, size: number) =>
  Effect.gen(function* () {
    const bytes = Encoding.decodeBase64(data)
    if (Either.isLeft(bytes)) return "the embedded data is not valid base64"
    if (bytes.right.length !== size) return `the embedded data is ${bytes.right.length} bytes, but size is ${size}`
    const algorithm = Digest.algorithm(digest)
    if (!Digest.isAlgorithm(algorithm)) return undefined
    const hash = hasher.make(algorithm)
    hash.update(bytes.right)
    const actual = `${algorithm}:${yield* hash.digest}`
    return actual === digest ? undefined : `the embedded data hashes to ${actual}, not ${digest}`
  })
