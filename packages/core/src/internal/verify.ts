/**
 * verify (fsck): checks `oci-layout`, `index.json`, every blob reachable from it, and what else lies under
 * `blobs/`. It reports and never changes anything; every problem is a `Finding`, never a failure. The
 * index lock is held (shared) only while index.json is read, not while blobs are hashed.
 * @internal
 */
import { Effect, Either, Encoding, Option, ParseResult, Schema } from "effect"
import * as Annotations from "../Annotations.js"
import { isTempFile } from "../BlobStore.js"
import type { Descriptor } from "../Descriptor.js"
import * as Digest from "../Digest.js"
import { BlobNotFound, DigestMismatch, formatPath, type ReadError } from "../Errors.js"
import { Hasher } from "../Hasher.js"
import { ImageManifest } from "../ImageManifest.js"
import { type ImageIndex, NestedIndex } from "../ImageIndex.js"
import type { Content, ContentFailure, Finding, Severity, VerifyOptions, VerifyReport } from "../Layout.js"
import * as MediaType from "../MediaType.js"
import * as OciLayout from "../OciLayout.js"
import { RefName } from "../Reference.js"
import { decodeJsonFile, decodeUnknown, decodeUtf8, parseJson } from "./decode.js"
import { readChunks, statBlobFile } from "./blobStore.js"
import type { Deps } from "./gc.js"
import { isBlank } from "./indexCodec.js"
import { duplicateKeys } from "./jsonDuplicateKeys.js"
import { isNotFound } from "./platformError.js"
import * as Walk from "./walk.js"

/** Where a descriptor was found: the file that holds it. */
interface Occurrence {
  readonly descriptor: Descriptor
  readonly from: string
}

type BlobFailure = BlobNotFound | ReadError | DigestMismatch

const validateRefName = Schema.validateEither(RefName)

/** @internal */
export const run = (deps: Deps, options: VerifyOptions): Effect.Effect<VerifyReport, never, Hasher> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const { blobs, fs, path } = deps
    const strict = options.strict ?? false
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2))
    const indexPath = deps.index.indexPath
    const blobsDir = path.join(deps.directory, "blobs")
    const findings: Array<Finding> = []
    const add = (
      severity: Severity,
      code: string,
      message: string,
      where?: { readonly path?: string | undefined; readonly digest?: string | undefined }
    ) => {
      findings.push({ severity, code, message, ...where })
    }

    const checkDuplicateKeys = (file: string, text: string, digest?: string) => {
      for (const duplicate of duplicateKeys(text)) {
        const at = formatPath([...duplicate.path, duplicate.key])
        add(
          "error",
          "duplicate-key",
          `${file}: the key ${at} appears more than once; readers disagree on which value counts (the OCI spec forbids duplicate keys)`,
          { path: file, digest }
        )
      }
    }

    // --- oci-layout ---------------------------------------------------------------------------------------
    const layoutPath = path.join(deps.directory, "oci-layout")
    const layoutBytes = yield* Effect.either(fs.readFile(layoutPath))
    if (Either.isLeft(layoutBytes)) {
      if (isNotFound(layoutBytes.left)) {
        add(
          "error",
          "layout-missing",
          `${layoutPath} is missing; every image layout must have one. \`ocidx init\` creates it.`,
          {
            path: layoutPath
          }
        )
      } else {
        add("error", "layout-unreadable", `cannot read ${layoutPath}: ${layoutBytes.left.message}`, {
          path: layoutPath
        })
      }
    } else {
      const decoded = yield* Effect.either(decodeJsonFile(OciLayout.OciLayout, layoutPath, layoutBytes.right))
      if (Either.isLeft(decoded)) {
        add("error", "layout-invalid", decoded.left.message, { path: layoutPath })
      } else if (decoded.right.value.imageLayoutVersion !== OciLayout.supportedVersion) {
        add(
          "error",
          "layout-version",
          `${layoutPath}: imageLayoutVersion is "${decoded.right.value.imageLayoutVersion}", but ocidx understands only "${OciLayout.supportedVersion}" layouts`,
          { path: layoutPath }
        )
      }
    }

    // --- index.json (read under the shared lock by StoreIndex.read) -----------------------------------------
    const indexRead = yield* Effect.either(deps.index.read)
    let index: Option.Option<ImageIndex> = Option.none()
    if (Either.isLeft(indexRead)) {
      const error = indexRead.left
      switch (error._tag) {
        case "ReadError":
          if (error.reason === "not-found") add("error", "index-missing", error.message, { path: indexPath })
          else add("error", "index-unreadable", error.message, { path: error.path })
          break
        case "DecodeError":
          add("error", "index-invalid", error.message, { path: indexPath })
          break
        case "LockError":
          add("error", "index-locked", error.message, { path: error.path })
          break
      }
    } else {
      index = Option.some(indexRead.right)
      // Only for the duplicate-key scan: writers rename index.json into place, so this is a whole file.
      const raw = yield* Effect.either(fs.readFile(indexPath))
      if (Either.isRight(raw)) {
        if (isBlank(raw.right)) {
          add(
            "warning",
            "index-empty",
            `${indexPath} is empty; ocidx and buildkit read it as an empty index, other tools may refuse it`,
            { path: indexPath }
          )
        }
        const text = decodeUtf8(indexPath, raw.right)
        if (Either.isRight(text)) checkDuplicateKeys(indexPath, text.right)
      }
      for (const [position, entry] of indexRead.right.manifests.entries()) {
        const refName = entry.annotations?.[Annotations.refName]
        if (refName === undefined) continue
        const valid = validateRefName(refName)
        if (Either.isLeft(valid)) {
          const problem = ParseResult.ArrayFormatter.formatErrorSync(valid.left)[0]?.message ?? "outside the grammar"
          add(
            "warning",
            "ref-name-invalid",
            `${indexPath}: manifests[${position}]: ${problem}. Other tools may not find this entry; tag it again with a valid name.`,
            { path: indexPath, digest: entry.digest }
          )
        }
      }
    }

    // --- the graph: manifests and nested indexes, each read once and verified as it is read ---------------
    const occurrences = new Map<Digest.Digest, Array<Occurrence>>()
    const note = (descriptor: Descriptor, from: string) => {
      const list = occurrences.get(descriptor.digest)
      if (list) list.push({ descriptor, from })
      else occurrences.set(descriptor.digest, [{ descriptor, from }])
    }
    /** Blobs read to the end, with their actual size. */
    const checked = new Map<Digest.Digest, number>()
    /** Blobs whose problem is already reported. */
    const settled = new Set<Digest.Digest>()
    let incomplete = false

    const referrers = (digest: Digest.Digest): string => {
      const froms = [...new Set((occurrences.get(digest) ?? []).map((occurrence) => occurrence.from))]
      return froms.length === 0 ? "" : ` (referenced from ${froms.join(", ")})`
    }

    const reportBlobFailure = (digest: Digest.Digest, error: BlobFailure) => {
      settled.add(digest)
      const file = blobs.pathOf(digest)
      switch (error._tag) {
        case "BlobNotFound":
          add(
            strict ? "error" : "warning",
            "blob-missing",
            `blob ${digest} is referenced but not in the layout${referrers(digest)}; add it with \`ocidx blob put\` or copy the image again`,
            { path: file, digest }
          )
          return
        case "ReadError":
          if (error.reason === "symlink") add("error", "blob-symlink", error.message, { path: file, digest })
          else if (error.reason === "not-a-file") add("error", "blob-not-file", error.message, { path: file, digest })
          else add("error", "blob-unreadable", error.message, { path: file, digest })
          return
        case "DigestMismatch":
          checked.set(digest, error.actualSize)
          if (error.actualDigest !== undefined && error.actualDigest !== error.expectedDigest) {
            add(
              "error",
              "blob-digest-mismatch",
              `${file}: the content hashes to ${error.actualDigest}, not ${digest}; the blob is corrupt, fetch it again`,
              { path: file, digest }
            )
          }
          return
      }
    }

    /**
     * What reading each manifest or index found, to apply in walk order once the walk is done: the walk reads
     * several at a time, and a report must not depend on which read finished first.
     */
    const readEffects = new Map<Digest.Digest, Array<() => void>>()
    const deferFor = (digest: Digest.Digest) => {
      const list = readEffects.get(digest) ?? []
      readEffects.set(digest, list)
      return (effect: () => void) => {
        list.push(effect)
      }
    }

    const decodeBlob = <A, I>(
      schema: Schema.Schema<A, I>,
      file: string,
      digest: Digest.Digest,
      bytes: Uint8Array,
      later: (effect: () => void) => void
    ) =>
      Effect.gen(function* () {
        const text = yield* decodeUtf8(file, bytes)
        later(() => checkDuplicateKeys(file, text, digest))
        return yield* decodeUnknown(schema, file)(yield* parseJson(file, text))
      })

    // Not deps.content: it checks the size against the descriptor, which would hide the children of a
    // manifest whose descriptor alone is wrong, and it does not hand back the text for the duplicate-key scan.
    const readContent = (descriptor: Descriptor): Effect.Effect<Content, ContentFailure> =>
      Effect.gen(function* () {
        const later = deferFor(descriptor.digest)
        const file = blobs.pathOf(descriptor.digest)
        const bytes = yield* blobs.get(descriptor.digest)
        later(() => checked.set(descriptor.digest, bytes.length))
        const content: Content = MediaType.isIndex(descriptor.mediaType)
          ? { _tag: "Index", descriptor, index: yield* decodeBlob(NestedIndex, file, descriptor.digest, bytes, later) }
          : MediaType.isManifest(descriptor.mediaType)
            ? {
                _tag: "Manifest",
                descriptor,
                manifest: yield* decodeBlob(ImageManifest, file, descriptor.digest, bytes, later)
              }
            : { _tag: "Other", descriptor }
        later(() => {
          for (const child of Walk.children(content)) note(child, file)
        })
        return content
      })

    const onUnreadable = (descriptor: Descriptor, error: ContentFailure) =>
      Effect.sync(() =>
        deferFor(descriptor.digest)(() => {
          incomplete = true
          if (error._tag === "DecodeError") {
            settled.add(descriptor.digest)
            add("error", "manifest-invalid", `${error.message} Its blobs cannot be checked.`, {
              path: blobs.pathOf(descriptor.digest),
              digest: descriptor.digest
            })
          } else {
            reportBlobFailure(descriptor.digest, error)
          }
        })
      )

    const reachable: ReadonlyMap<Digest.Digest, Descriptor> = Option.isSome(index)
      ? yield* Effect.suspend(() => {
          const roots = index.value.subject ? [...index.value.manifests, index.value.subject] : index.value.manifests
          for (const root of roots) note(root, indexPath)
          return Walk.reachable(roots, readContent, onUnreadable, { concurrency })
        })
      : new Map()
    // The walk reads each digest once, in the order of `reachable`: apply what the reads found in that order.
    for (const digest of reachable.keys()) for (const effect of readEffects.get(digest) ?? []) effect()

    // --- every other reachable blob, streamed and hashed, a few at a time ---------------------------------
    const pending = [...reachable.keys()].filter((digest) => !checked.has(digest) && !settled.has(digest))
    const total = reachable.size
    let done = total - pending.length
    const progress = options.onProgress
    if (progress && total > 0) yield* progress(done, total)
    /**
     * Reads a blob to its end and hashes it, failing as `BlobStore.stream` would (a missing, symlinked or
     * non-regular file, a read error, a digest that differs), without a Stream's per-chunk cost.
     */
    const readAndHash = (digest: Digest.Digest): Effect.Effect<number, BlobFailure> =>
      Effect.gen(function* () {
        const file = blobs.pathOf(digest)
        const present = yield* statBlobFile(fs, file)
        if (Option.isNone(present)) return yield* new BlobNotFound({ path: file, digest })
        const algorithm = Digest.algorithm(digest)
        const hash = algorithm === "sha256" || algorithm === "sha512" ? hasher.make(algorithm) : undefined
        const size = yield* readChunks(fs, file, present.value, (chunk) => hash?.update(chunk))
        // An algorithm ocidx cannot compute leaves only the size, which the caller compares.
        const actualDigest = hash === undefined ? undefined : `${algorithm}:${yield* hash.digest}`
        if (actualDigest !== undefined && actualDigest !== digest) {
          return yield* new DigestMismatch({ path: file, expectedDigest: digest, actualDigest, actualSize: size })
        }
        return size
      })
    const hashOne = (digest: Digest.Digest) =>
      readAndHash(digest).pipe(
        Effect.either,
        Effect.tap(() => {
          done++
          return progress ? progress(done, total) : Effect.void
        })
      )
    const results = yield* Effect.forEach(pending, hashOne, { concurrency })
    // Reported in the order of the walk, not of completion, so a report does not depend on timing.
    for (const [i, result] of results.entries()) {
      const digest = pending[i]
      if (digest === undefined) continue
      if (Either.isRight(result)) checked.set(digest, result.right)
      else reportBlobFailure(digest, result.left)
    }

    // --- what the descriptors claim against what is there --------------------------------------------------
    for (const [digest, actualSize] of checked) {
      const file = blobs.pathOf(digest)
      const reported = new Set<number>()
      for (const { descriptor, from } of occurrences.get(digest) ?? []) {
        if (descriptor.size === actualSize || reported.has(descriptor.size)) continue
        reported.add(descriptor.size)
        add(
          "error",
          "blob-size-mismatch",
          `${file} is ${actualSize} bytes, but the descriptor in ${from} says ${descriptor.size}`,
          { path: file, digest }
        )
      }
      if (!Digest.isVerifiable(digest)) {
        add(
          "info",
          "blob-unverifiable",
          `${file}: ocidx cannot compute ${Digest.algorithm(digest)} digests, so only the blob's size was checked`,
          { path: file, digest }
        )
      }
    }

    for (const [digest, list] of occurrences) {
      for (const { descriptor, from } of list) {
        if (descriptor.data === undefined) continue
        const problem = yield* checkData(hasher, descriptor.data, digest, descriptor.size)
        if (problem !== undefined) add("error", "data-mismatch", `${from}: ${problem}`, { path: from, digest })
      }
    }

    // --- the blobs directory --------------------------------------------------------------------------------
    const listing = yield* Effect.either(fs.readDirectory(blobsDir))
    if (Either.isLeft(listing)) {
      if (isNotFound(listing.left)) {
        add(
          "warning",
          "blobs-missing",
          `${blobsDir} is missing; a layout must have it, even empty. \`ocidx init\` creates it.`,
          {
            path: blobsDir
          }
        )
      } else {
        add("error", "blobs-unreadable", `cannot read ${blobsDir}: ${listing.left.message}`, { path: blobsDir })
      }
    } else {
      const stray = (file: string, why: string) =>
        add("warning", "stray-file", `${file}: ${why}; ocidx leaves it alone (gc never removes it)`, { path: file })
      for (const entry of [...listing.right].sort()) {
        const entryPath = path.join(blobsDir, entry)
        if (isTempFile(entry)) {
          add(
            "info",
            "temp-file",
            `${entryPath} is an ocidx temp file: a write in progress or one that was interrupted; gc removes it once it is an hour old`,
            { path: entryPath }
          )
          continue
        }
        const info = yield* Effect.either(fs.stat(entryPath))
        if (Either.isLeft(info)) {
          if (!isNotFound(info.left))
            add("error", "blobs-unreadable", `cannot read ${entryPath}: ${info.left.message}`, { path: entryPath })
          continue
        }
        if (info.right.type !== "Directory") {
          stray(entryPath, "not a blob (blobs live in blobs/<algorithm>/)")
          continue
        }
        const names = yield* Effect.either(fs.readDirectory(entryPath))
        if (Either.isLeft(names)) {
          add("error", "blobs-unreadable", `cannot read ${entryPath}: ${names.left.message}`, { path: entryPath })
          continue
        }
        for (const name of [...names.right].sort()) {
          const file = path.join(entryPath, name)
          const digest = Digest.parse(`${entry}:${name}`)
          if (Option.isNone(digest)) {
            stray(file, `the name is not a valid ${entry} digest`)
            continue
          }
          if (reachable.has(digest.value) || Option.isNone(index)) continue
          const kind = yield* Effect.either(fs.stat(file))
          if (Either.isRight(kind) && kind.right.type === "Directory") {
            stray(file, "a directory where a blob would be")
            continue
          }
          add(
            "info",
            "blob-unreferenced",
            incomplete
              ? `${file} is not referenced by anything ocidx could read (some manifests could not be read, so it may be theirs)`
              : `${file} is not referenced from index.json; \`ocidx gc\` removes it`,
            { path: file, digest: digest.value }
          )
        }
      }
    }

    let bytesChecked = 0
    for (const size of checked.values()) bytesChecked += size
    const report: VerifyReport = {
      ok: findings.every((finding) => finding.severity !== "error"),
      findings,
      blobsChecked: checked.size,
      bytesChecked
    }
    return report
  }).pipe(Effect.withSpan("Layout.verify", { attributes: { directory: deps.directory } }))

/** Why a descriptor's embedded `data` is not the content it describes, or undefined when it is. */
const checkData = (hasher: Hasher, data: string, digest: Digest.Digest, size: number) =>
  Effect.gen(function* () {
    const bytes = Encoding.decodeBase64(data)
    if (Either.isLeft(bytes)) return "the embedded data is not valid base64"
    if (bytes.right.length !== size) return `the embedded data is ${bytes.right.length} bytes, but size is ${size}`
    const algorithm = Digest.algorithm(digest)
    if (algorithm !== "sha256" && algorithm !== "sha512") return undefined
    const hash = hasher.make(algorithm)
    hash.update(bytes.right)
    const actual = `${algorithm}:${yield* hash.digest}`
    return actual === digest ? undefined : `the embedded data hashes to ${actual}, not ${digest}`
  })
