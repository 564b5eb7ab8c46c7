/**
 * Mutation fuzzing of IndexCodec: whatever bytes index.json holds, decoding ends in a value or a
 * DecodeError, never a defect; and whatever decodes, encodes and decodes again.
 */
import { describe, expect, it } from "@effect/vitest"
import { DecodeReason } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import { ImageManifest } from "@ocidx/core/ImageManifest"
import { Cause, Effect, Either, Exit, FastCheck as fc, Option, Schema } from "effect"
import { parseJson } from "../src/internal/decode.js"
import * as FastDecode from "../src/internal/fastDecode.js"
import * as IndexCodec from "../src/internal/indexCodec.js"
import {
  arbImageIndexJson,
  arbImageManifestJson,
  arbJsonValue,
  arbNestedIndexJson,
  bytesOf,
  fixtureText,
  indexFixtures,
  type Json,
  sha256Of
} from "./support/schemas.js"

const indexPath = "fuzz/index.json"
// Every reason a decode may give: a new one shows up here without a test change.
const reasons: ReadonlyArray<string> = DecodeReason.literals

/** Fails the test unless the exit is a success or a DecodeError failure; returns the value if any. */
const expectNoDefect = <A, E extends { readonly _tag: string }>(
  exit: Exit.Exit<A, E>,
  input: string
): Option.Option<A> => {
  if (Exit.isSuccess(exit)) return Option.some(exit.value)
  if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
    throw new Error(`defect for input ${JSON.stringify(input.slice(0, 400))}:\n${Cause.pretty(exit.cause)}`)
  }
  const failure = Cause.failureOption(exit.cause)
  expect(Option.map(failure, (error) => error._tag)).toEqual(Option.some("DecodeError"))
  return Option.none()
}

/** Decodes, and for every success encodes and decodes again: no step may die. */
const checkBytes = (bytes: Uint8Array, label: string): void => {
  const decoded = expectNoDefect(Effect.runSync(Effect.exit(IndexCodec.decode(indexPath, bytes))), label)
  if (Option.isNone(decoded)) {
    const error = Effect.runSync(Effect.flip(IndexCodec.decode(indexPath, bytes)))
    expect(reasons).toContain(error.reason)
    expect(error.message).toContain(indexPath)
    return
  }
  const written = expectNoDefect(Effect.runSync(Effect.exit(IndexCodec.encode(indexPath, decoded.value))), label)
  if (Option.isNone(written)) return
  const reread = Effect.runSync(Effect.exit(IndexCodec.decode(indexPath, bytesOf(written.value))))
  if (Exit.isFailure(reread)) throw new Error(`re-decoding what encode wrote failed: ${Cause.pretty(reread.cause)}`)
  expect(reread.value).toEqual({ ...decoded.value, mediaType: MediaType.ociIndex })
}

const checkText = (text: string): void => checkBytes(bytesOf(text), text)

// ---------------------------------------------------------------------------------------------------------
// documents and mutations
// ---------------------------------------------------------------------------------------------------------

const richDocument = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  artifactType: "application/vnd.example.index+json",
  manifests: [
    {
      mediaType: MediaType.ociManifest,
      digest: sha256Of("rich-0"),
      size: 2,
      data: "e30=",
      urls: ["https://example.com/a"],
      annotations: { "org.opencontainers.image.ref.name": "v1", "io.containerd.image.name": "example.com/a:v1" },
      platform: { os: "linux", architecture: "arm", variant: "v7", features: ["x"], "os.features": ["y"] },
      artifactType: "application/vnd.example+json"
    }
  ],
  subject: { mediaType: MediaType.ociIndex, digest: sha256Of("rich-subject"), size: 100 },
  annotations: { "com.example.a": "b" }
})

const documents: ReadonlyArray<string> = [...indexFixtures.map(fixtureText), richDocument]

const arbDocument: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...documents) },
  { weight: 1, arbitrary: arbImageIndexJson.map((raw) => JSON.stringify(raw)) }
)

type Path = ReadonlyArray<string | number>

const isRecord = (value: Json): value is { readonly [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Every path in a JSON value, the root included. */
const paths = (value: Json, prefix: Path = []): ReadonlyArray<Path> => {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((item: Json, i) => paths(item, [...prefix, i]))]
  if (isRecord(value)) return [prefix, ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]))]
  return [prefix]
}

/** Rebuilds `value` with `f` applied at `path`; `undefined` from `f` deletes the key or element. */
const update = (value: Json, path: Path, f: (current: Json) => Json | undefined): Json | undefined => {
  const [head, ...rest] = path
  if (head === undefined) return f(value)
  if (Array.isArray(value) && typeof head === "number") {
    return value.flatMap((item: Json, i) => {
      if (i !== head) return [item]
      const next = update(item, rest, f)
      return next === undefined ? [] : [next]
    })
  }
  if (isRecord(value) && typeof head === "string") {
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(
      Object.entries(value).flatMap(([key, item]) => {
        if (key !== head) return [[key, item]]
        const next = update(item, rest, f)
        return next === undefined ? [] : [[key, next]]
      })
    )
  }
  return value
}

const pick = <A>(items: ReadonlyArray<A>, index: number): A | undefined => items[index % Math.max(items.length, 1)]

const nodeAt = (doc: Json, path: Path): Json | undefined => {
  let node: Json | undefined = doc
  for (const key of path) {
    if (Array.isArray(node) && typeof key === "number") node = node[key]
    else if (node !== undefined && isRecord(node) && typeof key === "string") node = node[key]
    else return undefined
  }
  return node
}

const objectPaths = (doc: Json): ReadonlyArray<Path> =>
  paths(doc).filter((path) => {
    const node = nodeAt(doc, path)
    return node !== undefined && isRecord(node)
  })

const knownKeys = [
  "schemaVersion",
  "mediaType",
  "manifests",
  "digest",
  "size",
  "urls",
  "annotations",
  "data",
  "platform",
  "artifactType",
  "subject",
  "config",
  "layers",
  "os",
  "architecture",
  "variant",
  "__proto__",
  "constructor",
  "toString"
] as const

/** JSON values biased to the ones the schemas care about. */
const arbNastyValue: fc.Arbitrary<Json> = fc.oneof(
  arbJsonValue,
  fc.constantFrom<Json>(-1, 1.5, 2 ** 53, 1e20, "", "1", "sha256:../../x", null, [], {}, true, 2, "2"),
  fc.dictionary(fc.constantFrom(...knownKeys), arbJsonValue, { maxKeys: 3 })
)

type Mutation =
  | { readonly kind: "delete"; readonly at: number }
  | { readonly kind: "replace"; readonly at: number; readonly value: Json }
  | { readonly kind: "inject"; readonly at: number; readonly key: string; readonly value: Json }
  | { readonly kind: "duplicate"; readonly at: number; readonly value: Json }

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: arbNastyValue }),
  fc.record({
    kind: fc.constant("inject" as const),
    at: fc.nat(),
    key: fc.constantFrom(...knownKeys),
    value: arbNastyValue
  }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), value: arbNastyValue })
)

const sentinel = "__ocidx_fuzz_sentinel__"

/** Applies a structural mutation and renders the result as text (duplicate keys need text). */
const mutate = (text: string, mutation: Mutation): string => {
  const doc: Json = JSON.parse(text)
  switch (mutation.kind) {
    case "delete": {
      const path = pick(
        paths(doc).filter((p) => p.length > 0),
        mutation.at
      )
      return path === undefined ? text : JSON.stringify(update(doc, path, () => undefined) ?? null)
    }
    case "replace": {
      const path = pick(paths(doc), mutation.at) ?? []
      return JSON.stringify(update(doc, path, () => mutation.value) ?? null)
    }
    case "inject": {
      const path = pick(objectPaths(doc), mutation.at) ?? []
      const injected = update(doc, path, (node) =>
        isRecord(node) ? Object.fromEntries([...Object.entries(node), [mutation.key, mutation.value]]) : node
      )
      return JSON.stringify(injected ?? null)
    }
    case "duplicate": {
      const path = pick(objectPaths(doc), mutation.at)
      const original = path === undefined ? undefined : nodeAt(doc, path)
      if (path === undefined || original === undefined || !isRecord(original)) return text
      const marked = update(doc, path, () => sentinel)
      const key = pick(Object.keys(original), mutation.at) ?? "schemaVersion"
      const rest = JSON.stringify(original).slice(1)
      const duplicated = `{${JSON.stringify(key)}:${JSON.stringify(mutation.value)}${rest === "}" ? "" : ","}${rest}`
      return JSON.stringify(marked ?? null).replace(JSON.stringify(sentinel), () => duplicated)
    }
  }
}

describe("Fuzz: IndexCodec never dies", () => {
  it("every seed document is valid and survives the checks unmutated", () => {
    for (const text of documents) {
      expect(Exit.isSuccess(Effect.runSync(Effect.exit(IndexCodec.decode(indexPath, bytesOf(text)))))).toBe(true)
      checkText(text)
    }
  })

  it("a __proto__ key holding a non-string data field is a DecodeError, not a defect", () => {
    const text = `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"${sha256Of("p")}","size":1,"__proto__":{"data":5}}]}`
    const exit = Effect.runSync(Effect.exit(IndexCodec.decode(indexPath, bytesOf(text))))
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
    expect(Exit.isFailure(exit)).toBe(true)
  })

  it.prop(
    "structural mutations: deleted keys, replaced values, injected and duplicated keys",
    [arbDocument, arbMutation],
    ([text, mutation]) => {
      checkText(mutate(text, mutation))
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.prop(
    "stacked structural mutations",
    [arbDocument, fc.array(arbMutation, { minLength: 2, maxLength: 4 })],
    ([text, mutations]) => {
      checkText(mutations.reduce(mutate, text))
    },
    { fastCheck: { numRuns: 100 } }
  )

  it.prop(
    "truncation at any position",
    [arbDocument, fc.nat()],
    ([text, at]) => {
      const bytes = bytesOf(text)
      checkBytes(bytes.slice(0, at % bytes.length), text)
    },
    { fastCheck: { numRuns: 100 } }
  )

  it.prop(
    "flipped bytes",
    [arbDocument, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })],
    ([text, flips]) => {
      const bytes = bytesOf(text)
      for (const [at, mask] of flips) {
        const index = at % bytes.length
        bytes[index] = (bytes[index] ?? 0) ^ mask
      }
      checkBytes(bytes, text)
    },
    { fastCheck: { numRuns: 150 } }
  )

  it.prop(
    "inserted garbage",
    [
      arbDocument,
      fc.nat(),
      fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.string({ minLength: 1, maxLength: 8 }).map(bytesOf))
    ],
    ([text, at, garbage]) => {
      const bytes = bytesOf(text)
      const index = at % (bytes.length + 1)
      checkBytes(new Uint8Array([...bytes.slice(0, index), ...garbage, ...bytes.slice(index)]), text)
    },
    { fastCheck: { numRuns: 100 } }
  )
})

describe("the fast validator agrees with the schema", () => {
  const schemaDecode = Schema.decodeUnknownEither(ImageIndex.ImageIndex, {
    errors: "all",
    onExcessProperty: "preserve"
  })

  /** Whatever the fast path accepts, Schema accepts too, as the same value: it may never let more through. */
  const agrees = (text: string): boolean => {
    // The codec refuses some texts before validating (e.g. a "__proto__" key); the law is about the rest.
    const parsed = parseJson("fuzz/index.json", text)
    if (Either.isLeft(parsed)) return true
    const raw = parsed.right
    const fast = FastDecode.decodeIndex(raw)
    if (fast === undefined) return true
    const decoded = schemaDecode(raw)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) expect(fast).toEqual(decoded.right)
    return true
  }

  it.prop(
    "on mutated documents, fast-accepted implies schema-accepted",
    [arbDocument, arbMutation],
    ([text, mutation]) => agrees(mutate(text, mutation))
  )

  it.prop("on valid generated indexes, the fast path is taken", [arbImageIndexJson], ([json]) => {
    expect(FastDecode.decodeIndex(JSON.parse(JSON.stringify(json)))).toBeDefined()
  })

  it("on every seed document and fixture, the fast path is taken", () => {
    for (const text of documents) expect(FastDecode.decodeIndex(JSON.parse(text))).toBeDefined()
  })
})

/** The laws a fast validator keeps with its schema, on generated valid documents and mutations of them. */
const fastPathLaws = <A>(
  name: string,
  schema: (raw: unknown) => Either.Either<A, unknown>,
  fast: (raw: unknown) => A | undefined,
  arbitrary: fc.Arbitrary<Record<string, unknown>>
) => {
  /** Whatever the fast path accepts, Schema accepts too, as the same value: it may never let more through. */
  const agrees = (text: string): boolean => {
    const parsed = parseJson(`fuzz/${name}`, text)
    if (Either.isLeft(parsed)) return true
    const accepted = fast(parsed.right)
    if (accepted === undefined) return true
    const decoded = schema(parsed.right)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) expect(accepted).toEqual(decoded.right)
    return true
  }

  it.prop(
    `${name}: on mutated documents, fast-accepted implies schema-accepted`,
    [arbitrary, fc.array(arbMutation, { minLength: 1, maxLength: 3 })],
    ([json, mutations]) => agrees(mutations.reduce(mutate, JSON.stringify(json))),
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(`${name}: on valid generated documents, the fast path is taken`, [arbitrary], ([json]) => {
    const raw: unknown = JSON.parse(JSON.stringify(json))
    expect(fast(raw)).toBeDefined()
    expect(Either.isRight(schema(raw))).toBe(true)
  })
}

describe("the fast manifest and nested index validators agree with the schemas", () => {
  const options = { errors: "all", onExcessProperty: "preserve" } as const
  fastPathLaws(
    "ImageManifest",
    Schema.decodeUnknownEither(ImageManifest, options),
    FastDecode.decodeManifest,
    arbImageManifestJson
  )
  fastPathLaws(
    "NestedIndex",
    Schema.decodeUnknownEither(ImageIndex.NestedIndex, options),
    FastDecode.decodeNestedIndex,
    arbNestedIndexJson
  )
})
