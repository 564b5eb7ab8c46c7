import { describe, expect, it } from "@effect/vitest"
import * as MediaType from "@ocidx/core/MediaType"
import { Either, FastCheck as fc, Schema } from "effect"
import { arbMediaTypeString } from "./support/schemas.js"

const decode = Schema.decodeUnknownEither(MediaType.MediaType)
const part127 = `a${"b".repeat(126)}`
const part128 = `a${"b".repeat(127)}`

describe("MediaType", () => {
  describe("accepts", () => {
    it.each([
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "text/plain",
      "a/b",
      "0/9",
      "Application/JSON",
      "x!#$&^_.+-/y!#$&^_.+-",
      `${part127}/${part127}`
    ])("%s", (value) => {
      expect(decode(value)).toEqual(Either.right(value))
    })
  })

  describe("rejects", () => {
    it.each([
      ["no slash", "text"],
      ["empty type", "/json"],
      ["empty subtype", "a/"],
      ["space", "a b/c"],
      ["two slashes", "a/b/c"],
      ["leading symbol", "+a/b"],
      ["leading symbol in subtype", "a/.b"],
      ["parameters", "text/plain; charset=utf-8"],
      ["128-char type", `${part128}/b`],
      ["128-char subtype", `a/${part128}`],
      ["empty", ""],
      ["trailing newline", "a/b\n"],
      ["non-ASCII", "application/jsön"]
    ])("%s", (_label, value) => {
      const result = decode(value)
      expect(Either.isLeft(result)).toBe(true)
      expect(Either.isLeft(result) && result.left.message).toContain("is not a media type")
    })

    it("a non-string", () => {
      expect(Either.isLeft(decode(3))).toBe(true)
      expect(Either.isLeft(decode(null))).toBe(true)
    })
  })

  it("has the spec's constants", () => {
    expect(MediaType.ociIndex).toBe("application/vnd.oci.image.index.v1+json")
    expect(MediaType.ociManifest).toBe("application/vnd.oci.image.manifest.v1+json")
    expect(MediaType.ociConfig).toBe("application/vnd.oci.image.config.v1+json")
    expect(MediaType.ociEmpty).toBe("application/vnd.oci.empty.v1+json")
    expect(MediaType.ociLayerTar).toBe("application/vnd.oci.image.layer.v1.tar")
    expect(MediaType.ociLayerTarGzip).toBe("application/vnd.oci.image.layer.v1.tar+gzip")
    expect(MediaType.ociLayerTarZstd).toBe("application/vnd.oci.image.layer.v1.tar+zstd")
    expect(MediaType.dockerManifestList).toBe("application/vnd.docker.distribution.manifest.list.v2+json")
    expect(MediaType.dockerManifest).toBe("application/vnd.docker.distribution.manifest.v2+json")
    expect(MediaType.dockerConfig).toBe("application/vnd.docker.container.image.v1+json")
  })

  it("tells indexes from manifests, OCI and Docker alike", () => {
    expect(MediaType.isIndex(MediaType.ociIndex)).toBe(true)
    expect(MediaType.isIndex(MediaType.dockerManifestList)).toBe(true)
    expect(MediaType.isIndex(MediaType.ociManifest)).toBe(false)
    expect(MediaType.isIndex("application/vnd.oci.image.index.v1+json ")).toBe(false)
    expect(MediaType.isManifest(MediaType.ociManifest)).toBe(true)
    expect(MediaType.isManifest(MediaType.dockerManifest)).toBe(true)
    expect(MediaType.isManifest(MediaType.ociIndex)).toBe(false)
    expect(MediaType.isManifest(MediaType.ociConfig)).toBe(false)
    expect(MediaType.isManifest("application/vnd.acme.unknown.v1+json")).toBe(false)
  })

  it.prop("generated media types are valid", [arbMediaTypeString], ([value]) => {
    expect(Either.isRight(decode(value))).toBe(true)
  })

  it.prop("a media type has exactly one slash", [fc.stringMatching(/^[a-z/ +]{0,10}$/)], ([value]) => {
    const parts = value.split("/")
    const expected = parts.length === 2 && parts.every((part) => /^[a-z0-9][a-z0-9+]*$/.test(part))
    expect(Either.isRight(decode(value))).toBe(expected)
  })
})
