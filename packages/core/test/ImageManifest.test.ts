import { describe, expect, it } from "@effect/vitest"
import * as ImageManifest from "@ocidx/core/ImageManifest"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, Exit, FastCheck as fc, Schema } from "effect"
import { decodeJsonFile } from "../src/internal/decode.js"
import {
  arbDescriptor,
  arbMediaType,
  bytesOf,
  decodeErrorOf,
  fixtureBytes,
  fixtureText,
  issuePaths,
  parseObject,
  sha256Of
} from "./support/schemas.js"

const decodeFile = (bytes: Uint8Array, path = "blobs/sha256/abc") =>
  Effect.runSync(Effect.exit(decodeJsonFile(ImageManifest.ImageManifest, path, bytes)))

const decodeOk = (bytes: Uint8Array): ImageManifest.ImageManifest => {
  const exit = decodeFile(bytes)
  if (Exit.isFailure(exit)) throw new Error(`expected success: ${JSON.stringify(exit.cause)}`)
  return exit.value.value
}

const config = { mediaType: MediaType.ociConfig, digest: sha256Of("config"), size: 1471 }
const layer = { mediaType: MediaType.ociLayerTarGzip, digest: sha256Of("layer"), size: 3623807 }
const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }

const rejectedAt = (input: unknown, path: ReadonlyArray<string | number>) => {
  const error = decodeErrorOf(decodeFile(bytesOf(JSON.stringify(input))))
  expect(error._tag).toBe("DecodeError")
  expect(error.reason).toBe("schema")
  expect(issuePaths(error)).toContainEqual(path)
  return error
}

describe("ImageManifest", () => {
  it.each(["oci-manifest.json.golden", "docker-manifest.json.golden", "artifact-manifest.json.golden"])(
    "decodes %s to exactly its JSON, unknown fields included",
    (name) => {
      expect(decodeOk(fixtureBytes(name))).toEqual(parseObject(fixtureText(name)))
    }
  )

  it("reads the OCI manifest's parts", () => {
    const decoded = decodeOk(fixtureBytes("oci-manifest.json.golden"))
    expect(decoded.config.mediaType).toBe(MediaType.ociConfig)
    expect(decoded.layers.map((item) => item.size)).toEqual([3623807, 93])
    expect(decoded.layers[1]?.annotations).toEqual({ "org.opencontainers.image.title": "hello.txt" })
  })

  it("reads the artifact manifest's subject and embedded empty config", () => {
    const decoded = decodeOk(fixtureBytes("artifact-manifest.json.golden"))
    expect(decoded.artifactType).toBe("application/vnd.example.sbom.v1+json")
    expect(decoded.subject?.mediaType).toBe(MediaType.ociManifest)
    expect(decoded.config).toMatchObject({ mediaType: MediaType.ociEmpty, size: 2, data: "e30=" })
  })

  it("accepts empty layers and no mediaType", () => {
    const { mediaType: _, ...withoutMediaType } = manifest
    expect(decodeOk(bytesOf(JSON.stringify({ ...withoutMediaType, layers: [] })))).toEqual({
      ...withoutMediaType,
      layers: []
    })
  })

  describe("rejects", () => {
    it("a missing config and missing layers", () => {
      rejectedAt({ schemaVersion: 2, layers: [] }, ["config"])
      rejectedAt({ schemaVersion: 2, config }, ["layers"])
    })

    it("layers: null (only an index's manifests get that leniency)", () => {
      rejectedAt({ ...manifest, layers: null }, ["layers"])
    })

    it('schemaVersion 1 and "2"', () => {
      expect(rejectedAt({ ...manifest, schemaVersion: 1 }, ["schemaVersion"]).issues[0]?.message).toBe(
        "schemaVersion must be the number 2"
      )
      rejectedAt({ ...manifest, schemaVersion: "2" }, ["schemaVersion"])
    })

    it("a bad layer, naming its position", () => {
      const error = rejectedAt({ ...manifest, layers: [layer, { ...layer, digest: "sha256:../../etc" }] }, [
        "layers",
        1,
        "digest"
      ])
      expect(error.message).toContain('blobs/sha256/abc is invalid at ["layers"][1]["digest"]')
    })

    it("a bad config and a bad subject", () => {
      rejectedAt({ ...manifest, config: { ...config, size: 1.5 } }, ["config", "size"])
      rejectedAt({ ...manifest, subject: { ...config, mediaType: "x" } }, ["subject", "mediaType"])
      rejectedAt({ ...manifest, mediaType: "not a media type" }, ["mediaType"])
    })

    it("a manifest whose config data disagrees with its size", () => {
      rejectedAt({ ...manifest, config: { ...config, size: 3, data: "e30=" } }, ["config", "data"])
    })
  })

  it.prop(
    "decode(JSON(encode(x))) equals x",
    [arbDescriptor, fc.array(arbDescriptor, { maxLength: 4 }), fc.option(arbMediaType, { nil: undefined })],
    ([configDescriptor, layers, artifactType]) => {
      const value = Schema.decodeSync(ImageManifest.ImageManifest)({
        schemaVersion: 2,
        ...(artifactType === undefined ? {} : { artifactType }),
        config: Schema.encodeSync(ImageManifest.ImageManifest.fields.config)(configDescriptor),
        layers: layers.map((item) => Schema.encodeSync(ImageManifest.ImageManifest.fields.config)(item))
      })
      const text = JSON.stringify(Schema.encodeSync(ImageManifest.ImageManifest)(value))
      expect(decodeOk(bytesOf(text))).toEqual(value)
    },
    { fastCheck: { numRuns: 50 } }
  )
})
