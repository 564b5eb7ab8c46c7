/**
 * verify, phase 2: `index.json` reads and decodes (under the shared lock, by the store's own read, which
 * refuses duplicate keys), and its ref names are in the grammar; the bytes decoded are checked once more for
 * what decoding accepts (empty, a byte-order mark), not read again. Named `indexFile` so it is not taken for this
 * folder's entry module.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Annotations from "../../Annotations.js"
import type { ImageIndex } from "../../ImageIndex.js"
import type { Finding } from "../../Layout.js"
import { isRefName, RefName } from "../../Reference.js"
import { isBlank } from "../indexCodec.js"
import type { Internal } from "../storeIndex.js"
import { finding } from "./finding.js"

// The predicate first: it costs a fraction of a validation, and only an invalid name needs the message.
const validateRefName = Schema.validateEither(RefName)

/** What reading index.json found, and the index itself when it could be read. @internal */
export interface IndexCheck {
  readonly index: Option.Option<ImageIndex>
  readonly findings: ReadonlyArray<Finding>
}

/** @internal */
export const check = (store: Internal): Effect.Effect<IndexCheck> =>
  Effect.gen(function* () {
    const indexPath = store.indexPath
    const read = yield* Effect.either(store.readWithBytes)
    if (Either.isLeft(read)) {
      const error = read.left
      const only = (found: Finding): IndexCheck => ({ index: Option.none(), findings: [found] })
      switch (error._tag) {
        case "ReadError":
          return error.reason === "not-found"
            ? only(finding("error", "index-missing", error.message, { path: indexPath }))
            : only(finding("error", "index-unreadable", error.message, { path: error.path }))
        case "DecodeError":
          // Every reader refuses a duplicate key; verify names it as such, as it does in a manifest.
          return only(
            finding("error", error.reason === "duplicate-key" ? "duplicate-key" : "index-invalid", error.message, {
              path: indexPath
            })
          )
        case "LockError":
          // Only a lock not taken in time is "locked" (worth a retry, exit 75); a lock file that is a link or
          // cannot be opened makes index.json unreadable, as any other file would.
          return only(
            finding("error", error.reason === "timeout" ? "index-locked" : "index-unreadable", error.message, {
              path: error.path
            })
          )
      }
    }
    // The bytes the index was decoded from: a duplicate key failed the decode, so only what decoding accepts
    // is left to find in them.
    const { bytes, index } = read.right
    return {
      index: Option.some(index),
      findings: [...bytesFindings(indexPath, bytes), ...refNameFindings(indexPath, index)]
    }
  })

/** An empty file, and a byte-order mark: what decoding accepts but other tools may not. */
const bytesFindings = (indexPath: string, bytes: Uint8Array): ReadonlyArray<Finding> => {
  const empty = isBlank(bytes)
    ? [
        finding(
          "warning",
          "index-empty",
          `${indexPath} is empty; ocidx and buildkit read it as an empty index, other tools may refuse it`,
          { path: indexPath }
        )
      ]
    : []
  // ocidx reads past a byte-order mark and never writes one (internal/jsonReader.ts); Go's JSON readers refuse it.
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? [
          finding(
            "warning",
            "index-bom",
            `${indexPath} starts with a UTF-8 byte-order mark; buildkit, skopeo and umoci refuse such a file (ocidx reads it, and its next write drops the mark)`,
            { path: indexPath }
          )
        ]
      : []
  return [...empty, ...bom]
}

/** Entries whose ref name other tools would not find: ocidx reads them, but will not write such a name. */
const refNameFindings = (indexPath: string, index: ImageIndex): ReadonlyArray<Finding> =>
  index.manifests.flatMap((entry, position) => {
    const refName = entry.annotations?.[Annotations.refName]
    if (refName === undefined || isRefName(refName)) return []
    const valid = validateRefName(refName)
    if (Either.isRight(valid)) return []
    const problem = ParseResult.ArrayFormatter.formatErrorSync(valid.left)[0]?.message ?? "outside the grammar"
    return [
      finding(
        "warning",
        "ref-name-invalid",
        `${indexPath}: manifests[${position}]: ${problem}. Other tools may not find this entry; tag it again with a valid name.`,
        { path: indexPath, digest: entry.digest }
      )
    ]
  })
