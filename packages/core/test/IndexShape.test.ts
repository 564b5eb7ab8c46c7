import { describe, expect, it } from "@effect/vitest"
import * as MediaType from "@ocidx/core/MediaType"
import { Either, FastCheck as fc } from "effect"
import * as IndexShape from "../src/internal/indexShape.js"
import * as JsonReader from "../src/internal/jsonReader.js"
import { arbEntryJson, fixtureText, indexFixtures, sha256Of } from "./support/schemas.js"

const path = "/srv/layouts/app/index.json"

/** Go's field order for a descriptor and a platform: the order the shape expects. */
const descriptorOrder = ["mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"]
const platformOrder = ["architecture", "os", "os.version", "os.features", "variant", "features"]

const inOrder = (value: Record<string, unknown>, order: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of order) if (key in value) out[key] = value[key]
  for (const key of Object.keys(value)) if (!order.includes(key)) out[key] = value[key]
  return out
}

const goEntry = (entry: Record<string, unknown>): Record<string, unknown> => {
  const ordered = inOrder(entry, descriptorOrder)
  const platform = ordered.platform
  if (typeof platform === "object" && platform !== null && !Array.isArray(platform)) {
    ordered.platform = inOrder(Object.fromEntries(Object.entries(platform)), platformOrder)
  }
  return ordered
}

const arbGoIndexText = fc
  .tuple(fc.boolean(), fc.array(arbEntryJson.map(goEntry), { maxLength: 6 }))
  .map(([withMediaType, manifests]) =>
    JSON.stringify({ schemaVersion: 2, ...(withMediaType ? { mediaType: MediaType.ociIndex } : {}), manifests })
  )

/** Text edits that may make a recognised text something the scan refuses or reads otherwise. */
const arbEdit = fc.oneof(
  fc.record({ at: fc.nat(), insert: fc.constantFrom(" ", "\n", "\\", '\\"', '"__proto__":"x",', "0", ".5", "e9") }),
  fc.record({ at: fc.nat(), duplicateKeyOf: fc.nat() })
)

const edit = (text: string, change: typeof arbEdit extends fc.Arbitrary<infer E> ? E : never): string => {
  const at = change.at % (text.length + 1)
  if ("insert" in change) return `${text.slice(0, at)}${change.insert}${text.slice(at)}`
  // The key of some member, written again right after it: `"k":"v"` becomes `"k":"v","k":"v"`.
  const members = [...text.matchAll(/"[^"\\]*":"[^"\\]*"/g)]
  const member = members[change.duplicateKeyOf % Math.max(1, members.length)]
  if (member === undefined) return text
  const end = (member.index ?? 0) + member[0].length
  return `${text.slice(0, end)},${member[0]}${text.slice(end)}`
}

/** The law: a text the shape recognises is one the scan reads without objection, with the same spans. */
const agreesWithScan = (text: string): boolean => {
  const known = IndexShape.recognize(text)
  if (known === undefined) return false
  const scanned = JsonReader.parseText(path, text, { maxBytes: JsonReader.maxIndexBytes, exactNumbers: true })
  if (Either.isLeft(scanned)) {
    // Only what JSON.parse refuses (a raw control character in a string) may fail, and the scan path fails too.
    expect(scanned.left.reason).toBe("json")
    const recognised = JsonReader.parseText(path, text, { recognize: IndexShape.recognize })
    expect(Either.isLeft(recognised) && recognised.left.reason).toBe("json")
    return true
  }
  const doc = scanned.right
  expect(doc.compact).toBe(true)
  expect(doc.duplicates).toEqual([])
  expect(known.members).toEqual(doc.members)
  expect([...known.elements.starts]).toEqual([...doc.elements.starts])
  expect([...known.elements.ends]).toEqual([...doc.elements.ends])
  expect(known.elements.count).toBe(doc.elements.count)
  return true
}

describe("IndexShape (index.json as ocidx, buildkit and umoci write it, read without the scan)", () => {
  it.prop("recognises only texts the scan reads the same way", [arbGoIndexText], ([text]) => {
    agreesWithScan(text)
  })

  it("recognises many generated indexes in Go's order (the laws here are not vacuous)", () => {
    const texts = fc.sample(arbGoIndexText, { numRuns: 200, seed: 14 })
    expect(texts.filter((text) => IndexShape.recognize(text) !== undefined).length).toBeGreaterThan(10)
  })

  it.prop(
    "recognises no edit that the scan would refuse or read otherwise",
    [arbGoIndexText, fc.array(arbEdit, { minLength: 1, maxLength: 3 })],
    ([text, edits]) => {
      agreesWithScan(edits.reduce(edit, text))
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("recognises what ocidx writes: tags, a containerd name, platforms", () => {
    const entry = (tag: string) => ({
      mediaType: MediaType.ociManifest,
      digest: sha256Of(tag),
      size: 349,
      annotations: {
        "io.containerd.image.name": `docker.io/library/app:${tag}`,
        "org.opencontainers.image.ref.name": tag
      },
      platform: { architecture: "arm64", os: "linux", variant: "v8" }
    })
    const text = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [entry("a"), entry("b"), entry("c")]
    })
    expect(agreesWithScan(text)).toBe(true)
    expect(IndexShape.recognize(text)?.elements.count).toBe(3)
    expect(agreesWithScan(`{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[]}`)).toBe(true)
  })

  it("leaves to the scan duplicate and __proto__ keys, escapes, whitespace and inexact numbers", () => {
    const head = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[`
    const digest = sha256Of("x")
    const entry = (rest: string) => `{"mediaType":"${MediaType.ociManifest}","digest":"${digest}","size":1${rest}}`
    for (const text of [
      `${head}${entry(`,"annotations":{"a":"1","a":"2"}`)}]}`,
      `${head}${entry(`,"annotations":{"a":"1","b":"2","a":"3"}`)}]}`,
      `${head}${entry(`,"annotations":{"__proto__":"1"}`)}]}`,
      `${head}${entry(`,"annotations":{"\\u0061":"1"}`)}]}`,
      `${head}${entry(`,"annotations":{"a":"1","b":"2","c":"3","d":"4","e":"5"}`)}]}`,
      `${head}${entry("")} ]}`,
      `${head}${entry("").replace('"size":1', '"size":1.0')}]}`,
      `${head}${entry("").replace('"size":1', '"size":12345678901234567890')}]}`,
      `${head}${entry(`,"x-vendor":{}`)}]}`,
      `${head}${entry("")}],"annotations":{}}`
    ]) {
      expect([text, IndexShape.recognize(text)]).toEqual([text, undefined])
    }
  })

  it("on the fixtures, agrees with the scan wherever it recognises one", () => {
    for (const name of indexFixtures) {
      const text = fixtureText(name)
      agreesWithScan(text)
      agreesWithScan(JSON.stringify(JSON.parse(text)))
    }
  })
})
