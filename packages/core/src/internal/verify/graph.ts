/**
 * verify, phase 3: the graph. Reads every manifest and nested index reachable from the index, once each,
 * decoding it and scanning it for duplicate keys, and notes where every descriptor was found.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { BlobStore } from "../../BlobStore.js"
import type { Descriptor } from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import { BlobNotFound, DigestMismatch, type GraphError, type ReadError } from "../../Errors.js"
import type { ImageIndex } from "../../ImageIndex.js"
import type { Content, ContentFailure, Finding } from "../../Layout.js"
import type { FileToRead, LayoutFiles, ReadResult } from "../../LayoutFiles.js"
import * as MediaType from "../../MediaType.js"
import { decodeUtf8 } from "../decode.js"
import { decodeManifest, decodeNestedIndex } from "../decodeContent.js"
import { type DuplicateKey, duplicateKeys } from "../jsonDuplicateKeys.js"
import * as JsonReader from "../jsonReader.js"
import * as Walk from "../walk.js"
import { blobFailure, duplicateKeyFindings, finding, type Occurrence, type Occurrences } from "./finding.js"

/** What the walk established. @internal */
export interface Graph {
  /** Every reachable descriptor, in walk order (breadth first). */
  readonly reachable: ReadonlyMap<Digest.Digest, Descriptor>
  readonly occurrences: Occurrences
  /** The blobs read to their end while walking, with their actual size, in walk order. */
  readonly checked: ReadonlyMap<Digest.Digest, number>
  /** Blobs whose problem is reported already: not to be read again. */
  readonly settled: ReadonlySet<Digest.Digest>
  /** Some manifest could not be read, so the graph may miss what it references. */
  readonly incomplete: boolean
  readonly findings: ReadonlyArray<Finding>
}

const empty: Graph = {
  reachable: new Map(),
  occurrences: new Map(),
  checked: new Map(),
  settled: new Set(),
  incomplete: false,
  findings: []
}

/** What reading one manifest or index found, as far as it got: its size once read, its repeated keys once UTF-8. */
interface Read {
  readonly size: number | undefined
  readonly duplicates: ReadonlyArray<DuplicateKey>
  readonly content: Either.Either<Content, ContentFailure>
}

/** A manifest or index to read, with the descriptor it was found under. */
interface ManifestFile extends FileToRead {
  readonly descriptor: Descriptor
}

/** @internal */
export const walk = (
  files: LayoutFiles,
  blobs: BlobStore,
  index: Option.Option<ImageIndex>,
  options: { readonly indexPath: string; readonly strict: boolean }
): Effect.Effect<Graph> => {
  if (Option.isNone(index)) return Effect.succeed(empty)
  const roots = index.value.subject ? [...index.value.manifests, index.value.subject] : index.value.manifests
  const folded = fold(roots, options)
  const batch = (descriptors: ReadonlyArray<Descriptor>) => {
    const toRead = descriptors.map((descriptor): ManifestFile => {
      const algorithm = Digest.algorithm(descriptor.digest)
      return {
        descriptor,
        path: blobs.pathOf(descriptor.digest),
        // Capped by what the descriptor claims: a batch then holds no more than its descriptors' sizes,
        // which the walk bounds per batch, however large its files are. A longer file is refused unread, its
        // size known from the stat the read made.
        maxBytes: capOf(descriptor),
        // Hashed as it is read: no step of its own per manifest. An algorithm ocidx cannot compute is not.
        hash: Digest.isAlgorithm(algorithm) ? algorithm : undefined
      }
    })
    return Effect.flatMap(
      files.readRegularFiles(toRead),
      // Settled in a plain loop: every step left is synchronous, so a manifest costs no fiber step.
      (results) => {
        const contents: Array<Either.Either<Content, ContentFailure>> = []
        for (const [i, result] of results.entries()) {
          const file = toRead[i]
          if (file === undefined) return Effect.dieMessage("a batch read has more results than files")
          const read = settle(file.path, file.descriptor, result)
          if (read === undefined) {
            return Effect.dieMessage(
              `LayoutFiles.readRegularFiles read ${file.descriptor.digest} without the hash asked`
            )
          }
          folded.add(file.descriptor.digest, file.path, read)
          contents.push(read.content)
        }
        return Effect.succeed(contents)
      }
    )
  }
  // A failure is folded in already; the walk goes on without that manifest's children. A graph error is
  // a finding of its own; too deep, the graph is incomplete.
  const graphErrors: Array<GraphError> = []
  return Walk.reachable(roots, { batch }, () => Effect.void, {
    indexPath: options.indexPath,
    onGraphError: (error) => Effect.sync(() => graphErrors.push(error))
  }).pipe(
    Effect.map((reachable) => {
      const graph = folded.graph(reachable)
      if (graphErrors.length === 0) return graph
      return {
        ...graph,
        incomplete: graph.incomplete || graphErrors.some((error) => error.reason === "too-deep"),
        findings: [...graph.findings, ...graphErrors.map(graphFinding)]
      }
    })
  )
}

const graphFinding = (error: GraphError): Finding =>
  finding("error", error.reason === "cycle" ? "index-cycle" : "index-too-deep", error.message, {
    path: error.path,
    digest: error.digests[error.digests.length - 1]
  })

/** The most bytes of a manifest or index read: its descriptor's size, and never more than a JSON document's cap. */
const capOf = (descriptor: Descriptor): number => Math.min(descriptor.size, JsonReader.maxDocumentBytes)

/**
 * What the read of a manifest or index found, decoded. Not `Layout.content`: that checks the size against the
 * descriptor, which would hide the children of a manifest whose descriptor alone is wrong, and it does not hand
 * back the text for the duplicate-key scan. The read was one `LayoutFiles` step, hash included, not a stat, a
 * read and a hash. Undefined when the read lacks the hash it was asked for.
 */
const settle = (
  file: string,
  descriptor: Descriptor,
  result: Either.Either<ReadResult, ReadError>
): Read | undefined => {
  const { digest } = descriptor
  if (Either.isLeft(result)) return failed(undefined, result.left)
  const read = result.right
  if (read._tag === "Missing") return failed(undefined, new BlobNotFound({ path: file, digest }))
  if (read._tag === "TooLarge") return tooLarge(file, descriptor, read.size)
  const bytes = read.bytes
  const size = bytes.length
  // Under the cap when opened, it grew past it while read: refused all the same.
  if (size > capOf(descriptor)) return tooLarge(file, descriptor, size)
  const algorithm = Digest.algorithm(digest)
  if (Digest.isAlgorithm(algorithm)) {
    if (read.hex === undefined) return undefined
    const actualDigest = `${algorithm}:${read.hex}`
    if (actualDigest !== digest) {
      return failed(
        undefined,
        new DigestMismatch({ path: file, expectedDigest: digest, actualDigest, actualSize: size })
      )
    }
  }
  const text = decodeUtf8(file, bytes)
  if (Either.isLeft(text)) return failed(size, text.left)
  return decode(descriptor, file, text.right, size)
}

const noDuplicates: ReadonlyArray<DuplicateKey> = []

const failed = (size: number | undefined, error: ContentFailure): Read => ({
  size,
  duplicates: noDuplicates,
  content: Either.left(error)
})

/**
 * Longer than its descriptor says: a size mismatch, reported as such (the size is checked with the others),
 * not read. Only a file as long as its descriptor says and over the cap is a manifest too large to read.
 */
const tooLarge = (file: string, descriptor: Descriptor, size: number): Read =>
  size === descriptor.size
    ? failed(size, JsonReader.tooLarge(file, size, JsonReader.maxDocumentBytes, "the manifest"))
    : failed(
        size,
        new DigestMismatch({
          path: file,
          expectedDigest: descriptor.digest,
          expectedSize: descriptor.size,
          actualSize: size
        })
      )

/** The parse verify asks for: duplicate keys listed, not refused, and no spans (only the value is used). */
const parseOptions: JsonReader.ReadOptions = { duplicateKeys: "allow", spans: false }

/**
 * Parses and decodes a manifest or index. Duplicate keys are findings of their own (the walk goes on), not a
 * failure: the parse lists them. Text it stops on (bad syntax, a `__proto__` key, too deep) is scanned for
 * them on its own, up to its first syntax error.
 */
const decode = (descriptor: Descriptor, file: string, text: string, size: number): Read => {
  const parsed = JsonReader.parseText(file, text, parseOptions)
  if (Either.isLeft(parsed)) return { size, duplicates: duplicateKeys(text), content: Either.left(parsed.left) }
  const { duplicates, value } = parsed.right
  if (MediaType.isIndex(descriptor.mediaType)) {
    return {
      size,
      duplicates,
      content: Either.map(decodeNestedIndex(file, value), (index): Content => ({ _tag: "Index", descriptor, index }))
    }
  }
  if (MediaType.isManifest(descriptor.mediaType)) {
    return {
      size,
      duplicates,
      content: Either.map(
        decodeManifest(file, value),
        (manifest): Content => ({ _tag: "Manifest", descriptor, manifest })
      )
    }
  }
  return { size, duplicates, content: Either.right({ _tag: "Other", descriptor }) }
}

/**
 * Applies what each read found as its batch comes back, so nothing of a manifest outlives its batch but what it
 * references. The walk reads in walk order (breadth first, each level in the order it was found), not in the
 * order reads finish, so a report does not depend on timing; a digest's referrers are those known when the walk
 * comes to it.
 */
const fold = (roots: ReadonlyArray<Descriptor>, options: { readonly indexPath: string; readonly strict: boolean }) => {
  const occurrences = new Map<Digest.Digest, Array<Occurrence>>()
  const note = (descriptor: Descriptor, from: string) => {
    const list = occurrences.get(descriptor.digest)
    if (list) list.push({ descriptor, from })
    else occurrences.set(descriptor.digest, [{ descriptor, from }])
  }
  const checked = new Map<Digest.Digest, number>()
  const settled = new Set<Digest.Digest>()
  const findings: Array<Finding> = []
  let incomplete = false
  for (const root of roots) note(root, options.indexPath)
  const add = (digest: Digest.Digest, file: string, read: Read): void => {
    if (read.size !== undefined) checked.set(digest, read.size)
    // Loops, not push(...): a list can be longer than a call takes arguments.
    if (read.duplicates.length > 0) {
      for (const found of duplicateKeyFindings(file, read.duplicates, digest)) findings.push(found)
    }
    if (Either.isRight(read.content)) {
      for (const child of Walk.children(read.content.right)) note(child, file)
      return
    }
    const error = read.content.left
    incomplete = true
    settled.add(digest)
    if (error._tag === "DecodeError") {
      findings.push(
        finding("error", "manifest-invalid", `${error.message} Its blobs cannot be checked.`, { path: file, digest })
      )
      return
    }
    const failure = blobFailure(file, digest, error, { strict: options.strict, occurrences })
    if (failure.actualSize !== undefined) checked.set(digest, failure.actualSize)
    for (const found of failure.findings) findings.push(found)
  }
  const graph = (reachable: ReadonlyMap<Digest.Digest, Descriptor>): Graph => ({
    reachable,
    occurrences,
    checked,
    settled,
    incomplete,
    findings
  })
  return { add, graph }
}
