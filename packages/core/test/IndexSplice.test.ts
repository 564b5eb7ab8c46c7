import { describe, expect, it } from "@effect/vitest"
import * as Descriptor from "@ocidx/core/Descriptor"
import type * as ImageIndex from "@ocidx/core/ImageIndex"
import * as MediaType from "@ocidx/core/MediaType"
import * as Reference from "@ocidx/core/Reference"
import { Effect, Either, FastCheck, Schema } from "effect"
import * as IndexCodec from "../src/internal/indexCodec.js"
import * as IndexOps from "../src/internal/indexOps.js"
import { arbDescriptor, arbImageIndexJson, bytesOf, sha256Of } from "./support/schemas.js"

const indexPath = "/srv/layouts/app/index.json"
const refNameKey = "org.opencontainers.image.ref.name"
const utf8 = new TextEncoder()
const text = new TextDecoder()
const decodeDescriptor = Schema.decodeUnknownSync(Descriptor.Descriptor)

const decodeText = (json: string) => IndexCodec.decode(indexPath, bytesOf(json))

/** What the codec renders without a splice: the full `encode`, as UTF-8. */
const fullRender = (next: ImageIndex.ImageIndex, base: ImageIndex.ImageIndex) =>
  Effect.map(IndexCodec.encode(indexPath, next, base), (json) => utf8.encode(json))

const tagged = (refName: string, seed = refName): Descriptor.Descriptor =>
  decodeDescriptor({ mediaType: MediaType.ociManifest, digest: sha256Of(seed), size: 7 })

const tagOf = (refName: string) => Either.getOrThrow(Reference.tag(refName))

/** The ways a file may be written: compact (ocidx, buildkit, umoci), indented (crane, editors), CRLF, tabs. */
const formats = {
  compact: (value: unknown) => JSON.stringify(value),
  twoSpaces: (value: unknown) => JSON.stringify(value, null, 2),
  tabs: (value: unknown) => JSON.stringify(value, null, "\t"),
  crlf: (value: unknown) => JSON.stringify(value, null, 3).replaceAll("\n", "\r\n"),
  // Tags spelled with a \u escape: the same tag to every reader, other bytes in the file.
  escapedTags: (value: unknown) =>
    JSON.stringify(value).replace(
      /("org\.opencontainers\.image\.ref\.name":")([A-Za-z0-9])/g,
      (_, head: string, first: string) => `${head}\\u${first.charCodeAt(0).toString(16).padStart(4, "0")}`
    )
} as const
type Format = keyof typeof formats

/** schemaVersion and mediaType first, as ocidx writes them (and as the splice requires). */
const canonicalOrder = (raw: Record<string, unknown>) => ({ schemaVersion: 2, mediaType: MediaType.ociIndex, ...raw })

const arbChange = FastCheck.oneof(
  // A put of a tag an entry already has (its entries are replaced), or of a new one.
  FastCheck.record({ kind: FastCheck.constant("put" as const), at: FastCheck.nat(), fresh: FastCheck.boolean() }),
  FastCheck.record({ kind: FastCheck.constant("remove" as const), at: FastCheck.nat() })
)

const refNamesOf = (index: ImageIndex.ImageIndex): ReadonlyArray<string> =>
  index.manifests.flatMap((entry) => {
    const refName = Descriptor.annotation(entry, refNameKey)
    return refName === undefined ? [] : [refName]
  })

const change = (
  index: ImageIndex.ImageIndex,
  edit: typeof arbChange extends FastCheck.Arbitrary<infer E> ? E : never,
  descriptor: Descriptor.Descriptor
): ImageIndex.ImageIndex => {
  const names = refNamesOf(index)
  const existing = names.length === 0 ? undefined : names[edit.at % names.length]
  if (edit.kind === "remove") {
    const entry = index.manifests[edit.at % Math.max(1, index.manifests.length)]
    return entry === undefined ? index : IndexOps.remove(index, [existing ?? entry.digest]).index
  }
  const refName = edit.fresh || existing === undefined ? "fresh-tag" : existing
  return IndexOps.put(index, descriptor, [tagOf(refName)]).index
}

/** The text of each entry of a compact file, as written (the raw bytes, escapes and all). */
const rawEntries = (json: string): ReadonlyArray<string> => {
  const entries: Array<string> = []
  let depth = 0
  let from = 0
  let inString = false
  for (let i = json.indexOf('"manifests":[') + '"manifests":['.length; i < json.length; i++) {
    const c = json[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === "{" || c === "[") {
      if (depth === 0) from = i
      depth++
    } else if (c === "}" || c === "]") {
      if (depth === 0) break
      depth--
      if (depth === 0) entries.push(json.slice(from, i + 1))
    }
  }
  return entries
}

describe("IndexSplice (a change written into the bytes it was read from)", () => {
  it.effect.prop(
    "gives byte for byte what the full render gives, for any format, through a sequence of puts and removes",
    [
      arbImageIndexJson,
      FastCheck.constantFrom<Format>("compact", "twoSpaces", "tabs", "crlf", "escapedTags"),
      FastCheck.boolean(),
      FastCheck.array(FastCheck.tuple(arbChange, arbDescriptor), { minLength: 1, maxLength: 5 }),
      FastCheck.nat()
    ],
    ([raw, format, canonical, changes, duplicate]) =>
      Effect.gen(function* () {
        // Sometimes an entry twice: two entries with one tag, which a put of that tag replaces both of.
        const manifests = Array.isArray(raw.manifests) ? raw.manifests : []
        const copy = manifests[duplicate % Math.max(1, manifests.length)]
        const withDuplicate = copy === undefined ? raw : { ...raw, manifests: [...manifests, copy] }
        const source = formats[format](canonical ? canonicalOrder(withDuplicate) : withDuplicate)
        let index = yield* decodeText(source)
        let json = source
        for (const [edit, descriptor] of changes) {
          const next = change(index, edit, descriptor)
          const full = yield* fullRender(next, index)
          const written = yield* IndexCodec.encodeBytes(indexPath, next, index)
          expect(text.decode(written)).toBe(text.decode(full))
          // What is written reads back as the index it was given (the full render adds the mediaType).
          expect(yield* IndexCodec.decode(indexPath, written)).toEqual({ ...next, mediaType: MediaType.ociIndex })
          if (IndexCodec.isSpliceable(index) && next !== index) {
            // The entries it kept are exactly the bytes they were read as.
            const before = rawEntries(json)
            const kept = index.manifests.flatMap((entry, i) => (next.manifests.includes(entry) ? [before[i]] : []))
            expect(rawEntries(text.decode(written)).slice(0, kept.length)).toEqual(kept)
          }
          index = next
          json = text.decode(written)
        }
      }),
    { fastCheck: { numRuns: 200 } }
  )

  it.effect.prop(
    "takes the splice for every compact file that starts as ocidx writes it",
    [arbImageIndexJson, FastCheck.constantFrom<Format>("compact", "escapedTags")],
    ([raw, format]) =>
      Effect.gen(function* () {
        const index = yield* decodeText(formats[format](canonicalOrder(raw)))
        expect(IndexCodec.isSpliceable(index)).toBe(true)
        const next = IndexOps.put(index, tagged("x"), [tagOf("fresh-tag")]).index
        yield* IndexCodec.encodeBytes(indexPath, next, index)
        expect(IndexCodec.isSpliceable(next)).toBe(true)
      }),
    { fastCheck: { numRuns: 50 } }
  )

  describe("edge cases", () => {
    const header = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}"`
    const entryJson = (refName: string, seed = refName) =>
      JSON.stringify({
        mediaType: MediaType.ociManifest,
        digest: sha256Of(seed),
        size: 7,
        annotations: { [refNameKey]: refName }
      })
    /** Puts `refName`, and checks the written bytes against the full render; returns them as text. */
    const putInto = (source: string, refName: string, spliceable = true) =>
      Effect.gen(function* () {
        const index = yield* decodeText(source)
        expect(IndexCodec.isSpliceable(index)).toBe(spliceable)
        const next = IndexOps.put(index, tagged(refName, "new"), [tagOf(refName)]).index
        const written = yield* IndexCodec.encodeBytes(indexPath, next, index)
        expect(written).toEqual(yield* fullRender(next, index))
        return text.decode(written)
      })
    const removeFrom = (source: string, x: string) =>
      Effect.gen(function* () {
        const index = yield* decodeText(source)
        const next = IndexOps.remove(index, [x]).index
        const written = yield* IndexCodec.encodeBytes(indexPath, next, index)
        expect(written).toEqual(yield* fullRender(next, index))
        return text.decode(written)
      })
    const newEntry = `{"mediaType":"${MediaType.ociManifest}","digest":"${sha256Of("new")}","size":7,"annotations":{"${refNameKey}":"v2"}}`

    it.effect("a put into an empty manifests array", () =>
      Effect.gen(function* () {
        expect(yield* putInto(`${header},"manifests":[]}`, "v2")).toBe(`${header},"manifests":[${newEntry}]}`)
      })
    )

    it.effect('umoci\'s "manifests": null takes the full render, which writes []', () =>
      Effect.gen(function* () {
        expect(yield* putInto(`${header},"manifests":null}`, "v2", false)).toBe(`${header},"manifests":[${newEntry}]}`)
      })
    )

    it.effect("a put that replaces the first, the middle or the last entry, or every entry with its tag", () =>
      Effect.gen(function* () {
        const [a, b, c] = [entryJson("a"), entryJson("v2", "b"), entryJson("c")]
        const file = (...entries: ReadonlyArray<string>) => `${header},"manifests":[${entries.join(",")}],"zz":1}`
        expect(yield* putInto(file(b, a, c), "v2")).toBe(file(a, c, newEntry))
        expect(yield* putInto(file(a, b, c), "v2")).toBe(file(a, c, newEntry))
        expect(yield* putInto(file(a, c, b), "v2")).toBe(file(a, c, newEntry))
        expect(yield* putInto(file(b), "v2")).toBe(file(newEntry))
        expect(yield* putInto(file(b, a, b, c, b), "v2")).toBe(file(a, c, newEntry))
      })
    )

    it.effect("a remove of the last entry, the first, or all of them leaves no stray comma", () =>
      Effect.gen(function* () {
        const [a, c] = [entryJson("a"), entryJson("c")]
        const file = (...entries: ReadonlyArray<string>) => `${header},"manifests":[${entries.join(",")}]}`
        expect(yield* removeFrom(file(a, c), "c")).toBe(file(a))
        expect(yield* removeFrom(file(a, c), "a")).toBe(file(c))
        expect(yield* removeFrom(file(a), "a")).toBe(file())
      })
    )

    it.effect("a tag spelled with escapes is the same tag: its entry is replaced, the others keep their escapes", () =>
      Effect.gen(function* () {
        const escaped = entryJson("v2", "b").replace('"v2"', '"\\u0076\\u0032"')
        const other = entryJson("v3").replace('"v3"', '"\\u0076\\u0033"')
        expect(yield* putInto(`${header},"manifests":[${escaped},${other}]}`, "v2")).toBe(
          `${header},"manifests":[${other},${newEntry}]}`
        )
      })
    )

    it.effect("files the splice would not reproduce take the full render", () =>
      Effect.gen(function* () {
        const entries = `[${entryJson("a")}]`
        for (const source of [
          // whitespace, which the full render drops
          `${header}, "manifests":${entries}}`,
          `${header},"manifests":${entries}}\r\n`,
          // no mediaType, or not first: the full render writes schemaVersion then mediaType first
          `{"schemaVersion":2,"manifests":${entries}}`,
          `{"mediaType":"${MediaType.ociIndex}","schemaVersion":2,"manifests":${entries}}`,
          // schemaVersion and mediaType spelled otherwise than the full render spells them
          `{"schemaVersion":2.0,"mediaType":"${MediaType.ociIndex}","manifests":${entries}}`,
          `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex.replace("/", "\\/")}","manifests":${entries}}`,
          // a key spelled with an escape, which the full render spells plainly
          `${header},"\\u006danifests":${entries}}`,
          `${header},"manifests":${entries},"\\u007a":1}`,
          // a byte-order mark, which the full render drops; non-ASCII text
          `\uFEFF${header},"manifests":${entries}}`,
          `${header},"manifests":${entries},"annotations":{"note":"é"}}`
        ]) {
          const written = yield* putInto(source, "v2", false)
          expect(written.startsWith(`${header},`)).toBe(true)
        }
      })
    )

    it.effect("a changed top-level field takes the full render", () =>
      Effect.gen(function* () {
        const index = yield* decodeText(`${header},"manifests":[${entryJson("a")}],"annotations":{"k":"1e400"}}`)
        const next = { ...IndexOps.put(index, tagged("v2", "new"), [tagOf("v2")]).index, annotations: { k: "v" } }
        const written = yield* IndexCodec.encodeBytes(indexPath, next, index)
        expect(written).toEqual(yield* fullRender(next, index))
        expect(text.decode(written)).toContain('"annotations":{"k":"v"}')
      })
    )

    it.effect("numbers JSON.parse would round are kept, in kept entries and in fields", () =>
      Effect.gen(function* () {
        const odd = `{"mediaType":"${MediaType.ociManifest}","digest":"${sha256Of("o")}","size":1,"x":1e400,"y":12345678901234567890}`
        const written = yield* putInto(`${header},"manifests":[${odd}],"zz":1.50}`, "v2")
        expect(written).toBe(`${header},"manifests":[${odd},${newEntry}],"zz":1.50}`)
      })
    )

    it.effect("a file with a duplicate key is refused, as before: nothing to splice", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(decodeText(`${header},"manifests":[],"manifests":[]}`))
        expect(error.reason).toBe("duplicate-key")
      })
    )

    it.effect("an invalid new entry fails as the full render does, naming its position", () =>
      Effect.gen(function* () {
        const index = yield* decodeText(`${header},"manifests":[${entryJson("a")}]}`)
        const bad = { ...tagged("v2"), annotations: { [refNameKey]: "not a tag!" } }
        const next = { ...index, manifests: [...index.manifests, bad] }
        const spliceError = yield* Effect.flip(IndexCodec.encodeBytes(indexPath, next, index))
        const fullError = yield* Effect.flip(IndexCodec.encode(indexPath, next, index))
        expect(spliceError).toEqual(fullError)
        expect(spliceError.issues[0]?.path).toEqual(["manifests", 1, "annotations", refNameKey])
      })
    )

    it.effect("a store's next put splices the spliced result again", () =>
      Effect.gen(function* () {
        let index = yield* decodeText(`${header},"manifests":[${entryJson("a")}]}`)
        for (const refName of ["b", "a", "c", "b"]) {
          const next = IndexOps.put(index, tagged(refName), [tagOf(refName)]).index
          const written = yield* IndexCodec.encodeBytes(indexPath, next, index)
          expect(IndexCodec.isSpliceable(next)).toBe(true)
          expect(written).toEqual(yield* fullRender(next, index))
          index = next
        }
        expect(refNamesOf(index)).toEqual(["a", "c", "b"])
      })
    )
  })
})
