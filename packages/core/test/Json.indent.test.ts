/**
 * `Json.indent` lays a compact text out as JSON.stringify(value, null, 2) does, keeping the literals a parse
 * would change; `StoreIndex.entryText` is the text an entry has in index.json.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Descriptor from "@ocidx/core/Descriptor"
import * as Json from "@ocidx/core/Json"
import * as MediaType from "@ocidx/core/MediaType"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import { Effect, FastCheck as fc, Option } from "effect"
import * as IndexCodec from "../src/internal/indexCodec.js"
import { sha256Of } from "./support/schemas.js"

// Strings with quotes, backslashes and the characters indent treats as structure, so a scanner that looks
// into strings gets them wrong.
const arbText = fc.string({ unit: fc.constantFrom("a", '"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "é") })
const arbJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1.5, 1e21),
    arbText,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(arbText, tie("value"), { maxKeys: 4 })
  )
})).value

describe("Json.indent", () => {
  it("lays out any compact text as JSON.stringify(value, null, 2) does, at any depth", () => {
    fc.assert(
      fc.property(arbJson, fc.nat({ max: 3 }), (value, depth) => {
        const expected = JSON.stringify(value, null, 2).replaceAll("\n", `\n${"  ".repeat(depth)}`)
        expect(Json.indent(JSON.stringify(value), depth)).toBe(expected)
      }),
      { numRuns: 500 }
    )
  })

  it("keeps numbers and escapes as written", () => {
    const text = '{"a":1e400,"b":[12345678901234567890,0.10000000000000000001],"c":"\\u0041\\/","d":{},"e":[]}'
    expect(Json.indent(text)).toBe(
      '{\n  "a": 1e400,\n  "b": [\n    12345678901234567890,\n    0.10000000000000000001\n  ],\n  "c": "\\u0041\\/",\n  "d": {},\n  "e": []\n}'
    )
  })
})

describe("StoreIndex.entryText", () => {
  const entry = `{"mediaType":"${MediaType.ociManifest}","digest":"${sha256Of("a")}","size":7,"x":1e400}`

  it.effect("is each entry's text in the file it was read from, whitespace aside", () =>
    Effect.gen(function* () {
      const file = `{\n "schemaVersion": 2,\n "mediaType": "${MediaType.ociIndex}",\n "manifests": [ ${entry.replace(",", ", ")} ]\n}`
      const index = yield* IndexCodec.decode("/l/index.json", new TextEncoder().encode(file))
      const [read] = index.manifests
      expect(read).toHaveProperty("x", Number.POSITIVE_INFINITY)
      expect(read === undefined ? undefined : StoreIndex.entryText(read)).toEqual(Option.some(entry))
    })
  )

  it.effect("is none for an entry no index.json gave", () =>
    Effect.gen(function* () {
      const made = yield* Descriptor.decodeUnknown("test")({
        mediaType: MediaType.ociManifest,
        digest: sha256Of("b"),
        size: 1
      })
      expect(StoreIndex.entryText(made)).toEqual(Option.none())
    })
  )
})
