import { describe, expect, it } from "@effect/vitest"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, Exit, Schema } from "effect"
import { decodeUnknown } from "../src/internal/decode.js"
import { arbImageIndex, arbImageIndexJson, decodeErrorOf, issuePaths, sha256Of } from "./support/schemas.js"

const entry = { mediaType: MediaType.ociManifest, digest: sha256Of("entry"), size: 512 }

const decodeExit = (input: unknown) =>
  Effect.runSync(Effect.exit(decodeUnknown(ImageIndex.ImageIndex, "nested index")(input)))

const decodeOk = (input: unknown): ImageIndex.ImageIndex => {
  const exit = decodeExit(input)
  if (Exit.isFailure(exit)) throw new Error(`expected success: ${JSON.stringify(exit.cause)}`)
  return exit.value
}

const rejectedAt = (input: unknown, path: ReadonlyArray<string | number>) => {
  const error = decodeErrorOf(decodeExit(input))
  expect(error.reason).toBe("schema")
  expect(issuePaths(error)).toContainEqual(path)
  return error
}

describe("ImageIndex", () => {
  it("has an empty index with the OCI media type", () => {
    expect(ImageIndex.empty).toEqual({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] })
    expect(decodeOk(ImageIndex.empty)).toEqual(ImageIndex.empty)
  })

  it("decodes an index without mediaType", () => {
    const index = decodeOk({ schemaVersion: 2, manifests: [entry] })
    expect(index).toEqual({ schemaVersion: 2, manifests: [entry] })
    expect("mediaType" in index).toBe(false)
  })

  it("reads manifests: null as an empty list, and encodes it as []", () => {
    const index = decodeOk({ schemaVersion: 2, manifests: null })
    expect(index.manifests).toEqual([])
    expect(Schema.encodeSync(ImageIndex.ImageIndex)(index).manifests).toEqual([])
  })

  it("decodes artifactType, subject and annotations", () => {
    const raw = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      artifactType: "application/vnd.example.signature.v1+json",
      manifests: [entry],
      subject: { mediaType: MediaType.ociIndex, digest: sha256Of("subject"), size: 9218 },
      annotations: { "org.opencontainers.image.created": "2024-06-11T09:14:27Z" }
    }
    expect(decodeOk(raw)).toEqual(raw)
  })

  it("keeps unknown top-level fields", () => {
    const raw = { schemaVersion: 2, manifests: [], "x-vendor": { a: [1, "b"] }, "x-null": null }
    expect(decodeOk(raw)).toEqual(raw)
  })

  describe("rejects", () => {
    it("a missing schemaVersion", () => {
      const error = rejectedAt({ manifests: [] }, ["schemaVersion"])
      expect(error.issues[0]?.message).toBe("is missing")
    })

    it.each([
      ["1", 1],
      ['"2"', "2"],
      ["2.5", 2.5],
      ["null", null]
    ])("schemaVersion %s", (_label, schemaVersion) => {
      const error = rejectedAt({ schemaVersion, manifests: [] }, ["schemaVersion"])
      expect(error.issues[0]?.message).toBe("schemaVersion must be the number 2")
    })

    it("a missing manifests", () => {
      const error = rejectedAt({ schemaVersion: 2 }, ["manifests"])
      expect(error.message).toContain('nested index is invalid at ["manifests"]')
    })

    it.each([
      ["a manifest media type", MediaType.ociManifest],
      ["the docker manifest list media type", MediaType.dockerManifestList],
      ["a near miss", "application/vnd.oci.image.index.v1+json; charset=utf-8"],
      ["a number", 2]
    ])("an index mediaType of %s", (_label, mediaType) => {
      const error = rejectedAt({ schemaVersion: 2, mediaType, manifests: [] }, ["mediaType"])
      expect(error.issues[0]?.message).toBe(`mediaType must be "${MediaType.ociIndex}" when present`)
    })

    it.each([
      ["an object", { a: 1 }],
      ["a string", "[]"],
      ["a number", 0]
    ])("manifests that are %s", (_label, manifests) => {
      rejectedAt({ schemaVersion: 2, manifests }, ["manifests"])
    })

    it("a bad entry, naming its position and field", () => {
      const error = rejectedAt({ schemaVersion: 2, manifests: [entry, entry, { ...entry, digest: "sha256:abc" }] }, [
        "manifests",
        2,
        "digest"
      ])
      expect(error.message).toContain('nested index is invalid at ["manifests"][2]["digest"]')
    })

    it("a bad subject and bad index annotations", () => {
      rejectedAt({ schemaVersion: 2, manifests: [], subject: { ...entry, size: -1 } }, ["subject", "size"])
      rejectedAt({ schemaVersion: 2, manifests: [], annotations: { a: 1 } }, ["annotations", "a"])
      rejectedAt({ schemaVersion: 2, manifests: [], artifactType: "nope" }, ["artifactType"])
    })

    it.each([
      ["an array", []],
      ["null", null],
      ["a string", "x"],
      ["a number", 2]
    ])("a top level that is %s", (_label, input) => {
      const error = decodeErrorOf(decodeExit(input))
      expect(error.reason).toBe("schema")
      expect(error.detail).toContain("ImageIndex")
    })
  })

  describe("properties", () => {
    it.prop(
      "generated indexes decode to themselves",
      [arbImageIndexJson],
      ([raw]) => {
        expect(decodeOk(raw)).toEqual(raw)
      },
      { fastCheck: { numRuns: 50 } }
    )

    it.prop(
      "decode(JSON(encode(x))) equals x",
      [arbImageIndex],
      ([index]) => {
        const text = JSON.stringify(Schema.encodeSync(ImageIndex.ImageIndex)(index))
        expect(decodeOk(JSON.parse(text))).toEqual(index)
      },
      { fastCheck: { numRuns: 50 } }
    )
  })
})
