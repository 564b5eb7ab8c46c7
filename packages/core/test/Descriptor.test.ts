import { describe, expect, it } from "@effect/vitest"
import * as Descriptor from "@ocidx/core/Descriptor"
import { Arbitrary, Effect, Exit, FastCheck as fc, Schema } from "effect"
import { decodeUnknown } from "../src/internal/decode.js"
import { arbDescriptor, arbDescriptorJson, decodeErrorOf, issuePaths, sha256Of } from "./support/schemas.js"

const digest = sha256Of("descriptor")
const base = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 7 }

const decodeExit = (input: unknown) =>
  Effect.runSync(Effect.exit(decodeUnknown(Descriptor.Descriptor, "the descriptor given to put")(input)))

const decodeOk = (input: unknown): Descriptor.Descriptor => {
  const exit = decodeExit(input)
  if (Exit.isFailure(exit)) throw new Error(`expected success: ${JSON.stringify(exit.cause)}`)
  return exit.value
}

/** Decodes, expects a schema DecodeError with an issue at `path`, and returns that issue's message. */
const rejectedAt = (input: unknown, path: ReadonlyArray<string | number>): string => {
  const error = decodeErrorOf(decodeExit(input))
  expect(error._tag).toBe("DecodeError")
  expect(error.reason).toBe("schema")
  expect(error.path).toBe("the descriptor given to put")
  expect(issuePaths(error)).toContainEqual(path)
  return error.issues.find((issue) => JSON.stringify(issue.path) === JSON.stringify(path))?.message ?? ""
}

describe("Descriptor", () => {
  it("decodes a minimal descriptor", () => {
    expect(decodeOk(base)).toEqual(base)
  })

  it("decodes every optional field", () => {
    const full = {
      ...base,
      size: 2,
      urls: ["https://mirror.example.com/blob", "oci://registry/x"],
      annotations: { "org.opencontainers.image.ref.name": "v1", "com.example.empty": "" },
      data: "e30=",
      platform: { architecture: "arm", os: "linux", variant: "v7", features: [], "os.features": [] },
      artifactType: "application/vnd.example.sbom.v1+json"
    }
    expect(decodeOk(full)).toEqual(full)
  })

  it("keeps unknown fields at the descriptor, platform and annotation level", () => {
    const raw = {
      "x-first": 1,
      ...base,
      annotations: { "com.example.unknown": "yes" },
      platform: { architecture: "amd64", os: "linux", "x-platform": [true, null] },
      "x-last": { nested: ["kept"] }
    }
    expect(decodeOk(raw)).toEqual(raw)
    // Without caller options too: the schema's own parseOptions preserve unknown fields.
    expect(Schema.decodeUnknownSync(Descriptor.Descriptor)(raw)).toEqual(raw)
  })

  it("reports missing required fields", () => {
    const error = decodeErrorOf(decodeExit({}))
    expect(issuePaths(error)).toEqual(expect.arrayContaining([["mediaType"], ["digest"], ["size"]]))
    expect(error.message).toContain("the descriptor given to put is invalid at")
  })

  describe("size", () => {
    it.each([
      ["negative", -1, "must not be negative"],
      ["fractional", 1.5, "whole number"],
      ["2^53", 9007199254740992, "at most 2^53-1"],
      ["1e20", 1e20, "at most 2^53-1"],
      ["infinite", Number.POSITIVE_INFINITY, "finite"],
      ["NaN", Number.NaN, "finite"]
    ])("rejects %s", (_label, size, message) => {
      expect(rejectedAt({ ...base, size }, ["size"])).toContain(message)
    })

    it.each([
      ["a string", "1"],
      ["null", null],
      ["a boolean", true]
    ])("rejects %s", (_label, size) => {
      expect(rejectedAt({ ...base, size }, ["size"])).toContain("Expected number")
    })

    it.each([0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER])("accepts %d", (size) => {
      expect(decodeOk({ ...base, size }).size).toBe(size)
    })
  })

  describe("digest and mediaType", () => {
    it("names the digest field", () => {
      expect(rejectedAt({ ...base, digest: `sha256:${"A".repeat(64)}` }, ["digest"])).toContain("uppercase hex")
    })

    it("names the mediaType and artifactType fields", () => {
      expect(rejectedAt({ ...base, mediaType: "json" }, ["mediaType"])).toContain("is not a media type")
      expect(rejectedAt({ ...base, artifactType: "a b/c" }, ["artifactType"])).toContain("is not a media type")
    })
  })

  describe("urls", () => {
    it.each(["not a uri", "/relative/path", "http://exa mple.com", "", "://x", "1http://x", "https:"])(
      "rejects %j",
      (url) => {
        expect(rejectedAt({ ...base, urls: ["https://ok.example.com/b", url] }, ["urls", 1])).toContain("is not a URI")
      }
    )

    it("rejects a non-array", () => {
      rejectedAt({ ...base, urls: "https://example.com" }, ["urls"])
    })
  })

  describe("annotations", () => {
    it("rejects non-string values, naming the key", () => {
      rejectedAt({ ...base, annotations: { "com.example.n": 1 } }, ["annotations", "com.example.n"])
      rejectedAt({ ...base, annotations: { "com.example.o": { a: "b" } } }, ["annotations", "com.example.o"])
      rejectedAt({ ...base, annotations: { "com.example.null": null } }, ["annotations", "com.example.null"])
    })

    it("rejects a non-object", () => {
      rejectedAt({ ...base, annotations: ["a"] }, ["annotations"])
      rejectedAt({ ...base, annotations: "a=b" }, ["annotations"])
    })

    // JSON.parse makes "__proto__" an own key; a decoder that assigns it would change the prototype instead.
    it("rejects a __proto__ key", () => {
      const input: unknown = JSON.parse(
        `{"mediaType":"a/b","digest":"${digest}","size":1,"annotations":{"__proto__":"x"}}`
      )
      rejectedAt(input, ["annotations", "__proto__"])
    })

    it("rejects a __proto__ key holding an object, rather than adopting it as prototype", () => {
      const input: unknown = JSON.parse(
        `{"mediaType":"a/b","digest":"${digest}","size":1,"annotations":{"__proto__":{"org.opencontainers.image.ref.name":"x"}}}`
      )
      rejectedAt(input, ["annotations", "__proto__"])
    })

    it("rejects an empty key and a key with NUL", () => {
      rejectedAt({ ...base, annotations: { "": "x" } }, ["annotations", ""])
      rejectedAt({ ...base, annotations: { "a\0b": "x" } }, ["annotations", "a\0b"])
    })

    it("never lets an invalid key smuggle in a non-string value", () => {
      rejectedAt({ ...base, annotations: { "": 5 } }, ["annotations", ""])
    })

    it("reads annotations that are own keys only", () => {
      const descriptor = decodeOk({ ...base, annotations: { "org.opencontainers.image.ref.name": "v1" } })
      expect(Descriptor.annotation(descriptor, "org.opencontainers.image.ref.name")).toBe("v1")
      expect(Descriptor.annotation(descriptor, "toString")).toBeUndefined()
      expect(Descriptor.annotation(decodeOk(base), "org.opencontainers.image.ref.name")).toBeUndefined()
    })
  })

  describe("platform", () => {
    it("requires os and architecture", () => {
      rejectedAt({ ...base, platform: { architecture: "amd64" } }, ["platform", "os"])
      rejectedAt({ ...base, platform: { os: "linux" } }, ["platform", "architecture"])
      rejectedAt({ ...base, platform: { os: "", architecture: "amd64" } }, ["platform", "os"])
    })
  })

  describe("data", () => {
    it("accepts data whose decoded length is the size", () => {
      expect(decodeOk({ ...base, size: 2, data: "e30=" }).data).toBe("e30=")
      expect(decodeOk({ ...base, size: 0, data: "" }).data).toBe("")
      expect(decodeOk({ ...base, size: 3, data: "YWJj" }).data).toBe("YWJj")
    })

    it("rejects data whose decoded length disagrees with size", () => {
      expect(rejectedAt({ ...base, size: 3, data: "e30=" }, ["data"])).toBe(
        "embedded data decodes to 2 bytes but size is 3"
      )
      expect(rejectedAt({ ...base, size: 0, data: "YQ==" }, ["data"])).toBe(
        "embedded data decodes to 1 bytes but size is 0"
      )
    })

    it.each(["YWJ", "YW=J", "Y===", "e30", "e3 0=", "YWJj\n", "YW-_", "@@@@"])("rejects invalid base64 %j", (data) => {
      expect(rejectedAt({ ...base, size: 2, data }, ["data"])).toBe("data must be standard base64 with padding")
    })

    it.prop("base64DecodedLength agrees with Buffer", [fc.uint8Array({ maxLength: 64 })], ([bytes]) => {
      const text = Buffer.from(bytes).toString("base64")
      expect(Descriptor.base64DecodedLength(text)).toBe(bytes.length)
    })
  })

  it("reports every problem at once", () => {
    const error = decodeErrorOf(decodeExit({ mediaType: "x", digest: "sha256:", size: -1, urls: ["no"] }))
    expect(issuePaths(error)).toEqual(expect.arrayContaining([["mediaType"], ["digest"], ["size"], ["urls", 0]]))
    expect(error.detail).toContain("Descriptor")
  })

  describe("round trips", () => {
    it.prop("generated descriptors decode to themselves", [arbDescriptorJson], ([raw]) => {
      expect(decodeOk(raw)).toEqual(raw)
    })

    it.prop("decode(JSON(encode(x))) equals x", [arbDescriptor], ([descriptor]) => {
      const text = JSON.stringify(Schema.encodeSync(Descriptor.Descriptor)(descriptor))
      expect(decodeOk(JSON.parse(text))).toEqual(descriptor)
    })

    it.prop(
      "schema-generated descriptors survive JSON",
      [Arbitrary.make(Descriptor.Descriptor)],
      ([descriptor]) => {
        // JSON has no -0: it comes back as 0, which is the same size.
        fc.pre(!Object.is(descriptor.size, -0))
        const text = JSON.stringify(Schema.encodeSync(Descriptor.Descriptor)(descriptor))
        expect(decodeOk(JSON.parse(text))).toEqual(descriptor)
      },
      { fastCheck: { numRuns: 25 } }
    )
  })
})

describe("Descriptor.decodeUnknown and decodeJson", () => {
  const valid = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${"c".repeat(64)}`,
    size: 3,
    "vnd.example.extra": true
  }

  it.effect("decode input and JSON bytes, keeping unknown fields", () =>
    Effect.gen(function* () {
      expect(yield* Descriptor.decodeUnknown("the input")(valid)).toEqual(valid)
      const bytes = new TextEncoder().encode(JSON.stringify(valid))
      expect(yield* Descriptor.decodeJson("descriptor.json", bytes)).toEqual(valid)
    })
  )

  it.effect("name the source and the field in the DecodeError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Descriptor.decodeUnknown("the --descriptor argument")({ ...valid, size: -1 }))
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "schema", path: "the --descriptor argument" })
      expect(error.issues.map((issue) => issue.path)).toEqual([["size"]])
      const notJson = yield* Effect.flip(Descriptor.decodeJson("d.json", new TextEncoder().encode("{")))
      expect(notJson).toMatchObject({ _tag: "DecodeError", reason: "json", path: "d.json" })
    })
  )
})
