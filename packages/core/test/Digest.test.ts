import { describe, expect, it } from "@effect/vitest"
import * as Digest from "@ocidx/core/Digest"
import { Arbitrary, Either, FastCheck as fc, Option, Schema } from "effect"
import { arbDigest, arbDigestString } from "./support/schemas.js"

const hex64 = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
const hex128 = `${hex64}${"0123456789abcdef".repeat(4)}`

const decode = Schema.decodeUnknownEither(Digest.Digest)

describe("Digest", () => {
  describe("accepts", () => {
    it.each([
      `sha256:${hex64}`,
      `sha512:${hex128}`,
      "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
      `blake3:${hex64}`,
      "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
      "a.b-c_d:x=",
      "sha384:ANYTHING_goes-in=encoded"
    ])("%s", (value) => {
      expect(Either.isRight(decode(value))).toBe(true)
      expect(Digest.problem(value)).toBeUndefined()
      expect(Digest.is(value)).toBe(true)
    })
  })

  describe("rejects", () => {
    it.each([
      ["uppercase sha256 hex", `sha256:${hex64.toUpperCase()}`],
      ["one uppercase letter", `sha256:${hex64.slice(0, 63)}D`],
      ["63 hex chars", `sha256:${hex64.slice(1)}`],
      ["65 hex chars", `sha256:${hex64}0`],
      ["127 sha512 chars", `sha512:${hex128.slice(1)}`],
      ["129 sha512 chars", `sha512:${hex128}f`],
      ["sha256 with non-hex", `sha256:${hex64.slice(0, 63)}g`],
      ["path traversal", "sha256:../../x"],
      ["slash in encoded", "foo:ab/c"],
      ["empty encoded", "sha256:"],
      ["empty algorithm", ":abc"],
      ["trailing separator in algorithm", "foo_:abc"],
      ["leading separator in algorithm", "-foo:abc"],
      ["double separator in algorithm", "foo..bar:abc"],
      ["uppercase algorithm", "Foo:abc"],
      ["no colon", hex64],
      ["empty string", ""],
      ["NUL in encoded", "sha256:abc\0def"],
      ["trailing newline", `sha256:${hex64}\n`],
      ["leading space", ` sha256:${hex64}`],
      ["two colons", "foo:bar:baz"]
    ])("%s", (_label, value) => {
      expect(Either.isLeft(decode(value))).toBe(true)
      expect(Digest.problem(value)).toEqual(expect.any(String))
      expect(Digest.is(value)).toBe(false)
      expect(Option.isNone(Digest.parse(value))).toBe(true)
    })
  })

  it("explains uppercase hex and the expected length", () => {
    expect(Digest.problem(`sha256:${hex64.toUpperCase()}`)).toContain("uppercase hex is not allowed")
    expect(Digest.problem(`sha256:${hex64.slice(1)}`)).toContain("expected exactly 64 lowercase hex characters")
    expect(Digest.problem(`sha256:${hex64.slice(1)}`)).toContain("got 63")
    expect(Digest.problem(`sha512:${hex128.slice(1)}`)).toContain("expected exactly 128")
    expect(Digest.problem("sha256:../../x")).toContain("is not a digest")
  })

  it("reports the schema's message when decoding fails", () => {
    const result = decode(`sha256:${hex64.slice(1)}`)
    expect(Either.isLeft(result) && result.left.message).toContain("expected exactly 64 lowercase hex characters")
    expect(Either.isLeft(decode(42))).toBe(true)
  })

  it("splits algorithm and encoded part", () => {
    const digest = Schema.decodeSync(Digest.Digest)(`sha256:${hex64}`)
    expect(Digest.algorithm(digest)).toBe("sha256")
    expect(Digest.encoded(digest)).toBe(hex64)
    const multihash = Schema.decodeSync(Digest.Digest)("multihash+base58:QmRZ")
    expect(Digest.algorithm(multihash)).toBe("multihash+base58")
    expect(Digest.encoded(multihash)).toBe("QmRZ")
  })

  it("knows which algorithms it can verify", () => {
    expect(Digest.isVerifiable(Schema.decodeSync(Digest.Digest)(`sha256:${hex64}`))).toBe(true)
    expect(Digest.isVerifiable(Schema.decodeSync(Digest.Digest)(`sha512:${hex128}`))).toBe(true)
    expect(Digest.isVerifiable(Schema.decodeSync(Digest.Digest)(`blake3:${hex64}`))).toBe(false)
    // "constructor" and friends are not algorithms just because an object has them.
    expect(Digest.isVerifiable(Schema.decodeSync(Digest.Digest)("constructor:abc"))).toBe(false)
    expect(Digest.isVerifiable(Schema.decodeSync(Digest.Digest)("tostring:abc"))).toBe(false)
  })

  it("builds digests from hex", () => {
    expect(Digest.fromHex("sha256", hex64)).toEqual(Option.some(`sha256:${hex64}`))
    expect(Digest.fromHex("sha512", hex128)).toEqual(Option.some(`sha512:${hex128}`))
    expect(Digest.fromHex("sha256", hex128)).toEqual(Option.none())
    expect(Digest.fromHex("sha256", hex64.toUpperCase())).toEqual(Option.none())
  })

  it.prop(
    "is and parse agree with the Digest schema, on digests and on strings that are nearly digests",
    [
      fc.oneof(
        arbDigestString,
        fc.string(),
        fc.stringMatching(/^(sha256|sha512|sha384|blake3):[0-9a-fA-F]{60,130}$/),
        fc.stringMatching(/^[a-z0-9+._-]{1,12}:[a-zA-Z0-9=_-]{1,20}$/)
      )
    ],
    ([value]) => {
      const schemaSays = Schema.is(Digest.Digest)(value)
      expect(Digest.is(value)).toBe(schemaSays)
      expect(Digest.parse(value)).toEqual(Schema.decodeUnknownOption(Digest.Digest)(value))
      expect(Digest.is(42)).toBe(false)
    }
  )

  it.prop("every generated digest is valid and splits back into its parts", [arbDigest], ([digest]) => {
    expect(Digest.is(digest)).toBe(true)
    expect(`${Digest.algorithm(digest)}:${Digest.encoded(digest)}`).toBe(digest)
    expect(Digest.isVerifiable(digest)).toBe(Object.hasOwn(Digest.registeredAlgorithms, Digest.algorithm(digest)))
  })

  it.prop("uppercasing a registered digest's hex makes it invalid", [arbDigestString], ([value]) => {
    const [algorithm = "", encoded = ""] = value.split(":")
    fc.pre(Object.hasOwn(Digest.registeredAlgorithms, algorithm) && /[a-f]/.test(encoded))
    expect(Digest.is(`${algorithm}:${encoded.toUpperCase()}`)).toBe(false)
  })

  it.prop("sha256 digests are exactly 64 lowercase hex", [fc.stringMatching(/^[0-9a-fA-F]{60,68}$/)], ([hex]) => {
    expect(Digest.is(`sha256:${hex}`)).toBe(hex.length === 64 && hex === hex.toLowerCase())
  })

  it.prop(
    "schema-generated digests decode again",
    [Arbitrary.make(Digest.Digest)],
    ([digest]) => {
      expect(Either.isRight(decode(digest))).toBe(true)
    },
    { fastCheck: { numRuns: 20 } }
  )

  it.prop("a valid digest never contains path syntax", [fc.stringMatching(/^[a-z0-9./:_=+\\-]{1,24}$/)], ([value]) => {
    if (Digest.is(value)) {
      expect(value).not.toMatch(/[/\\\0]|\.\./)
      expect(value.indexOf(":")).toBeGreaterThan(0)
    }
  })
})
