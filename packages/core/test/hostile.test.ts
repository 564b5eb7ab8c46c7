/**
 * Hostile JSON (issue 10): numbers JSON.parse would round, duplicate keys, deep nesting, oversized manifests
 * and a byte-order mark. Each either keeps the file exactly or is a DecodeError with a reason, never a defect,
 * and a refused write leaves index.json byte for byte as it was.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import * as Descriptor from "@ocidx/core/Descriptor"
import * as Json from "@ocidx/core/Json"
import * as MediaType from "@ocidx/core/MediaType"
import { Cause, Effect, Exit, Option } from "effect"
import * as JsonReader from "../src/internal/jsonReader.js"
import * as L from "./support/layouts.js"
import {
  digest,
  env,
  fileBytes,
  fileText,
  indexPath,
  manifest,
  provideFresh,
  rawEntry,
  seedLayout,
  strayFiles,
  type StoreError,
  tag
} from "./support/store.js"

const refName = Annotations.refName
const encoder = new TextEncoder()

/** A put, a remove and a modify: the writes that must keep or refuse what they do not model. */
const writes: ReadonlyArray<{
  readonly label: string
  readonly run: (store: Effect.Effect.Success<typeof env>["store"]) => Effect.Effect<unknown, StoreError>
}> = [
  { label: "put", run: (store) => store.put(manifest("c"), [tag("v3")]) },
  { label: "remove", run: (store) => store.remove(["v2"]) },
  {
    label: "modify",
    run: (store) =>
      store.modify((index) =>
        Effect.succeed([undefined, { ...index, manifests: index.manifests.slice(0, 1) }] as const)
      )
  }
]

const entryA = `{"mediaType":"${MediaType.ociManifest}","digest":"${digest("a")}","size":7,"annotations":{"${refName}":"v1"},"x-big":12345678901234567890,"x-exp":1e400,"x-frac":0.30000000000000000001,"x-plain":1.50}`
const entryB = JSON.stringify(rawEntry("b", { [refName]: "v2" }))

describe("numbers JSON.parse does not keep", () => {
  for (const { label, run } of writes) {
    it.effect(`${label}: an unknown top-level 1e400 and an untouched entry's 12345678901234567890 stay exactly`, () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        seedLayout(
          memory,
          `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","x-top":1e400,"manifests":[${entryA},${entryB}],"x-after":[1e-400,-0.0]}`
        )
        yield* run(store)
        const text = fileText(memory, indexPath) ?? ""
        expect(text).toContain(`"x-top":1e400,`)
        expect(text).toContain(`"x-after":[1e-400,-0.0]}`)
        // The untouched entry, byte for byte.
        expect(text).toContain(entryA)
        expect(strayFiles(memory)).toEqual([])
      }).pipe(provideFresh())
    )
  }

  it.effect("a pretty-printed index: untouched entries are written compact, their numbers as written", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      seedLayout(
        memory,
        `{\n  "schemaVersion": 2,\n  "x-top": { "n": 1e400, "s": "a b" },\n  "manifests": [\n    ${JSON.stringify(JSON.parse(entryB), null, 2).replaceAll("\n", "\n    ")}\n  ]\n}\n`
      )
      yield* store.put(manifest("c"), [tag("v3")])
      const text = fileText(memory, indexPath) ?? ""
      expect(
        text.startsWith(
          `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","x-top":{"n":1e400,"s":"a b"},"manifests":[${entryB},`
        )
      ).toBe(true)
    }).pipe(provideFresh())
  )

  it.effect("a new top-level value that JSON cannot hold (Infinity) is refused, not written as null", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      const before = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[${entryB}]}`
      seedLayout(memory, before)
      const error = yield* store
        .modify((index) => Effect.succeed([undefined, { ...index, "x-new": Number.POSITIVE_INFINITY }] as const))
        .pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "inexact-number" })
      expect(fileBytes(memory, indexPath)).toBe(before)
    }).pipe(provideFresh())
  )

  it.effect("a descriptor given as JSON with 1e400 or 12345678901234567890 is refused: inexact-number", () =>
    Effect.gen(function* () {
      for (const value of ["1e400", "12345678901234567890", "0.30000000000000000001"]) {
        const json = `{"mediaType":"${MediaType.ociManifest}","digest":"${digest("d")}","size":3,"x":${value}}`
        const error = yield* Effect.flip(Descriptor.decodeJson("d.json", encoder.encode(json)))
        expect(error).toMatchObject({ reason: "inexact-number", path: "d.json" })
        expect(error.issues[0]?.path).toEqual(["x"])
      }
      // Numbers that only look different are kept: 1.50 is 1.5.
      const ok = `{"mediaType":"${MediaType.ociManifest}","digest":"${digest("d")}","size":3,"x":[1.50,1E2,-0,9007199254740991]}`
      expect((yield* Descriptor.decodeJson("d.json", encoder.encode(ok))).size).toBe(3)
    })
  )

  it("isExactNumber: the decimal value, not the spelling", () => {
    for (const exact of ["0", "-0", "1.50", "1E2", "1e+2", "0.1", "9007199254740993e-0", "123456789012345", "5e-324"]) {
      expect([exact, JsonReader.isExactNumber(exact)]).toEqual([exact, exact !== "9007199254740993e-0"])
    }
    for (const inexact of ["1e400", "-1e400", "1e-400", "12345678901234567890", "0.30000000000000000001"]) {
      expect([inexact, JsonReader.isExactNumber(inexact)]).toEqual([inexact, false])
    }
  })
})

describe("duplicate keys", () => {
  const withDuplicate = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[${entryB}],"manifests":[${JSON.stringify(rawEntry("e", { [refName]: "v9" }))}]}`

  for (const { label, run } of writes) {
    it.effect(`${label}: an index.json with a duplicate "manifests" key is a DecodeError, and is left as it was`, () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        seedLayout(memory, withDuplicate)
        const error = yield* Effect.flip(run(store))
        expect(error).toMatchObject({ _tag: "DecodeError", reason: "duplicate-key", path: indexPath })
        expect(error._tag === "DecodeError" && error.issues[0]?.path).toEqual(["manifests"])
        expect(fileBytes(memory, indexPath)).toBe(withDuplicate)
        expect(strayFiles(memory)).toEqual([])
      }).pipe(provideFresh())
    )
  }

  it.effect("a read refuses it too, naming the path of the repeated key, at any depth and through escapes", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      const nested = JSON.stringify(rawEntry("b", { [refName]: "v2" })).replace(`"${refName}"`, `"a":"1","\\u0061"`)
      seedLayout(memory, `{"schemaVersion":2,"manifests":[${entryB},${nested}]}`)
      const error = yield* Effect.flip(store.read)
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "duplicate-key" })
      expect(error._tag === "DecodeError" && error.issues[0]?.path).toEqual(["manifests", 1, "annotations", "a"])
    }).pipe(provideFresh())
  )

  it.effect('an escaped "__proto__" key is refused as the plain one is', () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      seedLayout(memory, `{"schemaVersion":2,"manifests":[],"\\u005f_proto__":{"x":1}}`)
      expect(yield* Effect.flip(store.read)).toMatchObject({ _tag: "DecodeError", reason: "schema" })
    }).pipe(provideFresh())
  )
})

describe("depth", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`

  it.effect("a 100,000-deep array in index.json: too-deep, for a read and a put, and the file is untouched", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      const before = `{"schemaVersion":2,"manifests":[${entryB}],"x":${deep(100_000)}}`
      seedLayout(memory, before)
      expect(yield* Effect.flip(store.read)).toMatchObject({ _tag: "DecodeError", reason: "too-deep" })
      const exit = yield* Effect.exit(store.put(manifest("c"), [tag("v3")]))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
      expect(Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()).toMatchObject(
        Option.some({ _tag: "DecodeError", reason: "too-deep" })
      )
      expect(fileBytes(memory, indexPath)).toBe(before)
    }).pipe(provideFresh())
  )

  it.effect("the limit: 64 levels read, 65 refused", () =>
    Effect.gen(function* () {
      // The root object is level 1, so the value may nest 63 more.
      const at = (levels: number) => encoder.encode(`{"x":${deep(levels - 1)}}`)
      expect(yield* Json.parse("f", at(Json.maxDepth))).toBeDefined()
      expect(yield* Effect.flip(Json.parse("f", at(Json.maxDepth + 1)))).toMatchObject({ reason: "too-deep" })
    })
  )

  it.effect("a 100,000-deep descriptor: too-deep as JSON, and as a library object given to put", () =>
    Effect.gen(function* () {
      const json = `{"mediaType":"${MediaType.ociManifest}","digest":"${digest("d")}","size":3,"x":${deep(100_000)}}`
      expect(yield* Effect.flip(Descriptor.decodeJson("d.json", encoder.encode(json)))).toMatchObject({
        reason: "too-deep"
      })
      const { memory, store } = yield* env
      seedLayout(memory, `{"schemaVersion":2,"manifests":[]}`)
      let nested: unknown = []
      for (let i = 0; i < 100_000; i++) nested = [nested]
      // Fields ocidx does not model are kept, so the input type does not name them: go through an unknown.
      const input: unknown = { ...manifest("d"), x: nested }
      const exit = yield* Effect.exit(
        Effect.flatMap(Descriptor.decodeUnknown("input")(input), (descriptor) => store.put(descriptor, [tag("v1")]))
      )
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
      expect(Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()).toMatchObject(
        Option.some({ _tag: "DecodeError", reason: "too-deep" })
      )
      expect(fileText(memory, indexPath)).toBe(`{"schemaVersion":2,"manifests":[]}`)
    }).pipe(provideFresh())
  )
})

describe("byte-order mark", () => {
  it.effect("index.json with a BOM is read; a write drops the mark (ocidx never writes one)", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      const text = `{"schemaVersion":2,"manifests":[${entryB}]}`
      seedLayout(memory, new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(text)]))
      expect((yield* store.list).length).toBe(1)
      yield* store.put(manifest("c"), [tag("v3")])
      const bytes = memory.files()[indexPath] ?? new Uint8Array()
      expect(Array.from(bytes.subarray(0, 2))).toEqual([0x7b, 0x22])
      expect(fileText(memory, indexPath)).toContain(entryB)
    }).pipe(provideFresh())
  )
})

describe("size caps", () => {
  /** A layout whose one tag names a manifest blob of `size` bytes, with the descriptor saying `declared`. */
  const bigManifest = (size: number, declared = size) =>
    Effect.gen(function* () {
      const builder = new L.LayoutBuilder()
      const stored = builder.blob(MediaType.ociManifest, new Uint8Array(size).fill(0x20))
      const descriptor = { ...stored, size: declared }
      builder.add(descriptor, ["big"])
      yield* L.writeLayout(builder)
      return { descriptor, file: L.blobPath(descriptor.digest) }
    })

  const readsOf = (
    memory: { calls: () => ReadonlyArray<{ readonly op: string; readonly path: string }> },
    file: string
  ) => memory.calls().filter((call) => call.path === file && (call.op === "readFile" || call.op === "open-read"))

  it.effect("a manifest above 4 MiB: content, reachable, gc and verify refuse it before reading a byte", () =>
    Effect.gen(function* () {
      const { descriptor, file } = yield* bigManifest(JsonReader.maxDocumentBytes + 1)
      const { layout, memory } = yield* L.env
      const error = yield* Effect.flip(layout.content(L.decoded(descriptor)))
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "too-large", path: file })
      expect(error.message).toContain("4 MiB")
      expect(yield* Effect.flip(layout.reachable)).toMatchObject({ _tag: "UnreadableManifest", path: file })
      expect(yield* Effect.flip(layout.gc())).toMatchObject({ _tag: "UnreadableManifest" })
      const report = yield* layout.verify()
      expect(report.ok).toBe(false)
      expect(report.findings.find((finding) => finding.code === "manifest-invalid")?.message).toContain("4 MiB")
      expect(readsOf(memory, file).filter((call) => call.op === "readFile")).toEqual([])
    }).pipe(L.provideFresh)
  )

  it.effect("a big file named as a small manifest: a size mismatch, read no further than the descriptor says", () =>
    Effect.gen(function* () {
      const { descriptor, file } = yield* bigManifest(2 * 1024 * 1024, 100)
      const { layout, memory } = yield* L.env
      expect(yield* Effect.flip(layout.content(L.decoded(descriptor)))).toMatchObject({
        _tag: "DigestMismatch",
        expectedSize: 100,
        actualSize: 2 * 1024 * 1024
      })
      expect(readsOf(memory, file)).toEqual([])
    }).pipe(L.provideFresh)
  )

  it.effect("an index.json above its cap is refused before it is read", () =>
    Effect.gen(function* () {
      const { memory, store } = yield* env
      seedLayout(memory, `{"schemaVersion":2,"manifests":[]}${" ".repeat(JsonReader.maxIndexBytes)}`)
      expect(yield* Effect.flip(store.read)).toMatchObject({
        _tag: "DecodeError",
        reason: "too-large",
        path: indexPath
      })
      expect(memory.calls().filter((call) => call.path === indexPath && call.op === "readFile")).toEqual([])
    }).pipe(provideFresh())
  )
})
