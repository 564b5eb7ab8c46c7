/**
 * index.json to ImageIndex and back. Decoding remembers the source text of each entry and of each top-level
 * field, so what a change does not touch is written back exactly as it was read (key order, escapes and
 * numbers JSON.parse would round, such as `1e400` or `12345678901234567890`, included) and is not encoded
 * again. Only whitespace outside strings is dropped: the output is compact JSON.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Annotations from "../Annotations.js"
import { Descriptor } from "../Descriptor.js"
import { DecodeError, DecodeIssue } from "../Errors.js"
import { ImageIndex } from "../ImageIndex.js"
import { quote } from "../Text.js"
import { ociIndex } from "../MediaType.js"
import { isRefName } from "../Reference.js"
import { fromParseError, parseOptions } from "./decode.js"
import * as FastDecode from "./fastDecode.js"
import * as IndexShape from "./indexShape.js"
import * as IndexSplice from "./indexSplice.js"
import * as JsonReader from "./jsonReader.js"

// The JSON text each entry is written as. Decoded values are immutable, so an entry that is still the same
// object is still exactly its source text; a new entry is rendered once and its text kept.
const texts = new WeakMap<object, string>()

/** A top-level field's value and the text it is written as. */
interface Field {
  readonly value: unknown
  readonly text: string
}

/** The top-level fields of an index as written: their order, and each one's text (`manifests` aside). */
interface FrameSource {
  readonly order: ReadonlyArray<string>
  readonly fields: ReadonlyMap<string, Field>
}

// Per index value. A change builds a new index object (`{ ...index, manifests }`): encode is given the one it
// came from, and a field whose value is still the same (=== : the same object, or an equal primitive such as
// Infinity, which a parsed `1e400` is) is written from that one's text.
const frames = new WeakMap<object, FrameSource>()

// Per index value whose bytes a change can be spliced into (see `spliceSource`): those bytes and where its
// entries are in them. A spliced result is registered too, so a store's next put splices again. The bytes are
// kept, not copied: like StoreIndex's `lastWritten`, this relies on no caller reusing a buffer it decoded.
const sources = new WeakMap<object, IndexSplice.Source>()

const headText = `{"schemaVersion":2,"mediaType":${JSON.stringify(ociIndex)},`

/**
 * Where the entries of a freshly read file are, when a change that keeps its top-level fields can be written
 * by splicing its bytes and come out exactly as `encode` would render it: the file is compact (`encode` drops
 * whitespace), ASCII without a byte-order mark (so its text offsets are its byte offsets, and no mark to
 * drop), starts with the `schemaVersion` and `mediaType` that `encode` puts first, spells every top-level key
 * as JSON.stringify does (`encode` writes keys that way), and has a `manifests` array (umoci's `null` becomes
 * `[]`). Anything else takes the full render.
 */
const spliceSource = (
  bytes: Uint8Array,
  doc: JsonReader.JsonDocument,
  value: ImageIndex
): IndexSplice.Source | undefined => {
  const text = doc.text
  const elements = doc.elements
  if (!doc.compact || bytes.length !== text.length || elements.count !== value.manifests.length) return undefined
  if (!text.startsWith(headText) || doc.members[0]?.key !== "schemaVersion" || doc.members[1]?.key !== "mediaType") {
    return undefined
  }
  let manifests: JsonReader.Member | undefined
  // In a compact object each key sits between the previous value's end (or the `{`) plus one and the `:`.
  let keyStart = 1
  for (const member of doc.members) {
    if (text.slice(keyStart, member.start - 1) !== JSON.stringify(member.key)) return undefined
    if (member.key === "manifests") manifests = member
    keyStart = member.end + 1
  }
  if (manifests === undefined || text.charCodeAt(manifests.start) !== 0x5b) return undefined
  return {
    bytes,
    manifests: value.manifests,
    starts: elements.starts,
    ends: elements.ends,
    open: manifests.start + 1,
    close: manifests.end - 1
  }
}

/** Whether a change to `index` can be written by splicing the bytes it was read from (or written as). @internal */
export const isSpliceable = (index: ImageIndex): boolean => sources.has(index)

/** Whether `index` has exactly the top-level fields of `base` (the same values), apart from its entries. */
const sameFields = (index: ImageIndex, base: ImageIndex): boolean => {
  const mine = Object.entries(index)
  if (mine.length !== Object.keys(base).length) return false
  const theirs = new Map<string, unknown>(Object.entries(base))
  return mine.every(([key, value]) => key === "manifests" || (theirs.has(key) && theirs.get(key) === value))
}

/**
 * The compact JSON text an entry was read from or last written as, when it came from this codec: its strings,
 * numbers and key order exactly as in the file.
 * @internal
 */
export const sourceText = (entry: Descriptor): string | undefined => texts.get(entry)

/** @internal */
export const isBlank = (bytes: Uint8Array): boolean =>
  bytes.every((byte) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d))

const spanText = (doc: JsonReader.JsonDocument, span: JsonReader.Span): string =>
  doc.compact ? doc.text.slice(span.start, span.end) : JsonReader.compactText(doc.text, span)

const remember = (value: ImageIndex, doc: JsonReader.JsonDocument): ImageIndex => {
  // The scan found the entries of a "manifests" array; null (umoci's empty index) has none, and decodes to [].
  const { count, ends, starts } = doc.elements
  if (count === value.manifests.length) {
    // An indexed loop: it runs once per entry, cold, in a one-put process.
    const manifests = value.manifests
    const text = doc.text
    for (let i = 0; i < count; i++) {
      const entry = manifests[i]
      const start = starts[i] ?? 0
      const end = ends[i] ?? 0
      if (entry !== undefined)
        texts.set(entry, doc.compact ? text.slice(start, end) : JsonReader.compactText(text, { start, end }))
    }
  }
  const values = new Map<string, unknown>(Object.entries(value))
  const fields = new Map<string, Field>()
  for (const member of doc.members) {
    if (member.key === "manifests") continue
    fields.set(member.key, { value: values.get(member.key), text: spanText(doc, member) })
  }
  frames.set(value, { order: doc.members.map((member) => member.key), fields })
  return value
}

/**
 * A valid file takes the fast validator; anything it rejects goes through Schema, which names the problem.
 * @internal
 */
export const decode = (path: string, bytes: Uint8Array): Effect.Effect<ImageIndex, DecodeError> =>
  Effect.suspend(() =>
    Either.flatMap(
      JsonReader.readJson(path, bytes, { maxBytes: JsonReader.maxIndexBytes, recognize: IndexShape.recognize }),
      (doc) => {
        const fast = FastDecode.decodeIndex(doc.value)
        if (fast !== undefined) {
          // Only the fast path's value is the parsed JSON itself, with exactly the file's keys.
          const source = spliceSource(bytes, doc, fast)
          if (source !== undefined) sources.set(fast, source)
          return Either.right(remember(fast, doc))
        }
        return Schema.decodeUnknownEither(
          ImageIndex,
          parseOptions
        )(doc.value).pipe(
          Either.mapLeft((error) => fromParseError(path, error)),
          Either.map((value) => remember(value, doc))
        )
      }
    )
  )

// Go's field order for a descriptor, so entries ocidx creates look like buildkit's.
const descriptorKeyOrder = ["mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"]

const ordered = (value: object, first: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const entries = Object.entries(value)
  for (const key of first) {
    const found = entries.find(([k]) => k === key)
    if (found && found[1] !== undefined) out[key] = found[1]
  }
  for (const [key, item] of entries) if (!first.includes(key) && item !== undefined) out[key] = item
  return out
}

const encodeDescriptor = Schema.encodeEither(Descriptor, parseOptions)
const encodeIndexFields = Schema.encodeEither(ImageIndex, parseOptions)

const invalidRefName = (path: string, position: number, value: string): DecodeError => {
  const message = `${quote(value)} is not a valid ref name; ocidx does not write one`
  return new DecodeError({
    path,
    reason: "schema",
    detail: message,
    issues: [new DecodeIssue({ path: ["manifests", position, "annotations", Annotations.refName], message })]
  })
}

/** Places an entry's issues under ["manifests", position], where they are in the file. */
const atEntry = (error: DecodeError, position: number): DecodeError =>
  new DecodeError({
    ...error,
    issues: error.issues.map((issue) => new DecodeIssue({ ...issue, path: ["manifests", position, ...issue.path] }))
  })

// Synchronous on purpose: this runs for every entry of an index that may hold 100k of them.
const entryText = (path: string, entry: Descriptor, position: number): Either.Either<string, DecodeError> => {
  const cached = texts.get(entry)
  if (cached !== undefined) return Either.right(cached)
  return encodeDescriptor(entry).pipe(
    Either.mapLeft((error) => atEntry(fromParseError(path, error), position)),
    Either.flatMap((value) => {
      const refName = value.annotations?.[Annotations.refName]
      return refName === undefined || isRefName(refName)
        ? JsonReader.stringifyChecked(path, ["manifests", position], ordered(value, descriptorKeyOrder))
        : Either.left(invalidRefName(path, position, refName))
    }),
    Either.map((text) => {
      texts.set(entry, text)
      return text
    })
  )
}

/**
 * The top-level fields of the document, as the text before and after the entries. Fields whose value is
 * the one `index` (or `base`, the index it was made from) was read with are written from their source text.
 */
const frame = (
  path: string,
  index: ImageIndex,
  base: ImageIndex | undefined
): Either.Either<{ readonly before: string; readonly after: string }, DecodeError> => {
  const fields = encodeIndexFields({ ...index, manifests: [] }).pipe(
    Either.mapLeft((error) => fromParseError(path, error))
  )
  if (Either.isLeft(fields)) return Either.left(fields.left)
  const source = frames.get(index) ?? (base === undefined ? undefined : frames.get(base))
  const keyOrder = source?.order ?? Object.keys(fields.right)
  const values = new Map<string, unknown>(Object.entries(index))
  const { schemaVersion: _, mediaType: __, ...rest } = ordered({ ...fields.right, manifests: true }, keyOrder)
  const head = [`"schemaVersion":2`, `"mediaType":${JSON.stringify(ociIndex)}`]
  const tail: Array<string> = []
  const written = new Map<string, Field>()
  let manifestsSeen = false
  for (const [key, encoded] of Object.entries(rest)) {
    if (key === "manifests") {
      manifestsSeen = true
      continue
    }
    const value = values.get(key)
    const known = source?.fields.get(key)
    let text: string
    if (known !== undefined && known.value === value) text = known.text
    else {
      const rendered = JsonReader.stringifyChecked(path, [key], encoded)
      if (Either.isLeft(rendered)) return Either.left(rendered.left)
      text = rendered.right
    }
    written.set(key, { value, text })
    ;(manifestsSeen ? tail : head).push(`${JSON.stringify(key)}:${text}`)
  }
  // What this index was written as: the next change to it starts from these texts.
  if (!frames.has(index))
    frames.set(index, { order: ["schemaVersion", "mediaType", ...Object.keys(rest)], fields: written })
  return Either.right({
    before: `{${head.join(",")},"manifests":[`,
    after: `]${tail.map((member) => `,${member}`).join("")}}`
  })
}

/**
 * Validates an index by encoding it and renders it as compact JSON, `schemaVersion` and `mediaType` first,
 * other top-level fields in the order they were read.
 * @internal
 */
export const encode = (path: string, index: ImageIndex, base?: ImageIndex): Effect.Effect<string, DecodeError> =>
  Effect.suspend(() =>
    Either.flatMap(frame(path, index, base), ({ after, before }) => {
      // A plain loop, not one effect per entry: this runs for every entry of an index that may hold 100k.
      const entries: Array<string> = new Array(index.manifests.length)
      for (let i = 0; i < index.manifests.length; i++) {
        const entry = index.manifests[i]
        if (entry === undefined) continue
        const text = entryText(path, entry, i)
        if (Either.isLeft(text)) return Either.left(text.left)
        entries[i] = text.right
      }
      return Either.right(`${before}${entries.join(",")}${after}`)
    })
  )

const utf8 = new TextEncoder()

/** The last document `encodeBytes` produced, whose entries the next call copies where it finds them again. */
let lastEncoded: IndexSplice.Written | undefined

/**
 * Splices `index` into the bytes of `base` (or of `index` itself), when one was read from a file the splice
 * reproduces exactly and `index` keeps its top-level fields: see `spliceSource`.
 */
const spliced = (
  path: string,
  index: ImageIndex,
  base: ImageIndex | undefined
): Either.Either<Uint8Array, DecodeError> | undefined => {
  const from = base !== undefined && sameFields(index, base) ? base : index
  const source = sources.get(from)
  const frameSource = frames.get(from)
  if (source === undefined || frameSource === undefined) return undefined
  return Either.map(
    IndexSplice.splice(source, index.manifests, (entry, position) => entryText(path, entry, position)),
    (result) => {
      // The same fields with the same texts: `index` is written as `from` was, now and by the next change.
      sources.set(index, result)
      if (!frames.has(index)) frames.set(index, frameSource)
      return result.bytes
    }
  )
}

/**
 * `encode` as UTF-8 bytes: byte for byte `new TextEncoder().encode(encode(...))`. An index that keeps the
 * top-level fields of one read from a compact file (a put or a remove does) is spliced into that file's bytes;
 * otherwise runs of entries that the previous call wrote, in the same order, are copied from its bytes as
 * one block each. Either way only the other entries are rendered and validated: a put into a 10,000-entry
 * index renders one entry and copies a 2 MB block or two, instead of joining and encoding 10,000 texts.
 * @internal
 */
export const encodeBytes = (
  path: string,
  index: ImageIndex,
  base?: ImageIndex
): Effect.Effect<Uint8Array, DecodeError> =>
  Effect.suspend((): Either.Either<Uint8Array, DecodeError> => {
    const fromSource = spliced(path, index, base)
    if (fromSource !== undefined) return fromSource
    const framed = frame(path, index, base)
    if (Either.isLeft(framed)) return Either.left(framed.left)
    return Either.map(
      IndexSplice.write(
        utf8.encode(framed.right.before),
        utf8.encode(framed.right.after),
        lastEncoded,
        index.manifests,
        (entry, position) => entryText(path, entry, position)
      ),
      (written) => {
        lastEncoded = written
        return written.bytes
      }
    )
  })
