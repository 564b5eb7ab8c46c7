import { describe, expect, it } from "@effect/vitest"
import * as Platform from "@ocidx/core/Platform"
import { Either, FastCheck as fc, Schema } from "effect"
import { arbPlatformJson } from "./support/schemas.js"

const decodePlatform = Schema.decodeUnknownSync(Platform.Platform, { errors: "all", onExcessProperty: "preserve" })
const decodeEither = Schema.decodeUnknownEither(Platform.Platform, { errors: "all", onExcessProperty: "preserve" })

const selector = (text: string): Platform.PlatformSelector =>
  Either.getOrThrowWith(Platform.parseSelector(text), (problem) => new Error(problem))

describe("Platform", () => {
  describe("parseSelector", () => {
    it.each([
      ["linux/amd64", { os: "linux", architecture: "amd64" }],
      ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
      ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v7" }],
      ["windows/amd64", { os: "windows", architecture: "amd64" }],
      ["linux/ppc64le", { os: "linux", architecture: "ppc64le" }]
    ])("%s", (text, expected) => {
      expect(Platform.parseSelector(text)).toEqual(Either.right(expected))
    })

    it("leaves out an absent variant instead of setting it to undefined", () => {
      expect(Object.keys(selector("linux/amd64"))).toEqual(["os", "architecture"])
    })

    it.each([
      "",
      "linux",
      "linux/",
      "/amd64",
      "linux//amd64",
      "linux/amd64/",
      "linux/arm/v7/x",
      "linux/amd 64",
      "linux\\amd64"
    ])("rejects %j", (text) => {
      const result = Platform.parseSelector(text)
      expect(Either.isLeft(result)).toBe(true)
      expect(Either.isLeft(result) && result.left).toContain("expected os/arch or os/arch/variant")
      expect(Either.isLeft(result) && result.left).toContain(JSON.stringify(text))
    })

    it.prop(
      "format and parseSelector are inverse",
      [
        fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
        fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
        fc.option(fc.stringMatching(/^v[0-9]$/), { nil: undefined })
      ],
      ([os, architecture, variant]) => {
        const parsed: Platform.PlatformSelector =
          variant === undefined ? { os, architecture } : { os, architecture, variant }
        expect(Platform.parseSelector(Platform.format(parsed))).toEqual(Either.right(parsed))
      }
    )
  })

  describe("format", () => {
    it("writes os/arch[/variant]", () => {
      expect(Platform.format({ os: "linux", architecture: "amd64" })).toBe("linux/amd64")
      expect(Platform.format({ os: "linux", architecture: "arm", variant: "v7" })).toBe("linux/arm/v7")
      expect(Platform.format({ os: "linux", architecture: "arm", variant: undefined })).toBe("linux/arm")
    })
  })

  describe("matches", () => {
    const arm64 = decodePlatform({ architecture: "arm64", os: "linux" })
    const arm64v8 = decodePlatform({ architecture: "arm64", os: "linux", variant: "v8" })
    const armv7 = decodePlatform({ architecture: "arm", os: "linux", variant: "v7" })
    const armv6 = decodePlatform({ architecture: "arm", os: "linux", variant: "v6" })
    const armNoVariant = decodePlatform({ architecture: "arm", os: "linux" })
    const amd64 = decodePlatform({ architecture: "amd64", os: "linux" })
    const windows = decodePlatform({ architecture: "amd64", os: "windows", "os.version": "10.0.20348.2227" })

    it.each([
      ["arm64 without variant, asked linux/arm64", arm64, "linux/arm64", true],
      ["arm64 without variant, asked linux/arm64/v8 (v8 is arm64's default)", arm64, "linux/arm64/v8", true],
      ["arm64 without variant, asked linux/arm64/v9", arm64, "linux/arm64/v9", false],
      ["arm64/v8, asked linux/arm64", arm64v8, "linux/arm64", true],
      ["arm64/v8, asked linux/arm64/v8", arm64v8, "linux/arm64/v8", true],
      ["arm/v7, asked linux/arm/v7", armv7, "linux/arm/v7", true],
      ["arm/v7, asked linux/arm/v6", armv7, "linux/arm/v6", false],
      ["arm/v6, asked linux/arm/v7", armv6, "linux/arm/v7", false],
      ["arm/v7, asked linux/arm", armv7, "linux/arm", true],
      ["arm without variant, asked linux/arm/v7 (arm has no default)", armNoVariant, "linux/arm/v7", false],
      ["amd64 without variant, asked linux/amd64/v1", amd64, "linux/amd64/v1", true],
      ["amd64 without variant, asked linux/amd64/v2", amd64, "linux/amd64/v2", false],
      ["linux/amd64, asked windows/amd64", amd64, "windows/amd64", false],
      ["windows/amd64, asked linux/amd64", windows, "linux/amd64", false],
      ["windows/amd64, asked windows/amd64", windows, "windows/amd64", true],
      ["linux/amd64, asked linux/arm64", amd64, "linux/arm64", false],
      ["arm64, asked linux/amd64/v8", arm64, "linux/amd64/v8", false]
    ])("%s", (_label, platform, text, expected) => {
      expect(Platform.matches(platform, selector(text))).toBe(expected)
    })

    it("does not take variants from Object.prototype", () => {
      const odd = decodePlatform({ architecture: "constructor", os: "linux" })
      expect(Platform.matches(odd, selector("linux/constructor/v8"))).toBe(false)
      expect(Platform.matches(odd, selector("linux/constructor"))).toBe(true)
    })
  })

  describe("schema", () => {
    it("requires os", () => {
      const result = decodeEither({ architecture: "amd64" })
      expect(Either.isLeft(result) && result.left.message).toContain('["os"]')
      expect(Either.isLeft(result) && result.left.message).toContain("is missing")
    })

    it("requires architecture", () => {
      const result = decodeEither({ os: "linux" })
      expect(Either.isLeft(result) && result.left.message).toContain('["architecture"]')
    })

    it("rejects empty os and architecture", () => {
      const result = decodeEither({ os: "", architecture: "" })
      expect(Either.isLeft(result) && result.left.message).toContain("must be a non-empty string")
      expect(Either.isLeft(result) && result.left.message).toContain('["architecture"]')
      expect(Either.isLeft(result) && result.left.message).toContain('["os"]')
    })

    it("rejects non-string lists", () => {
      expect(Either.isLeft(decodeEither({ os: "windows", architecture: "amd64", "os.features": "win32k" }))).toBe(true)
      expect(Either.isLeft(decodeEither({ os: "linux", architecture: "amd64", features: [1] }))).toBe(true)
      expect(Either.isLeft(decodeEither({ os: "linux", architecture: "arm", variant: 7 }))).toBe(true)
    })

    it("keeps fields it does not model, even without the caller asking", () => {
      const raw = { architecture: "riscv64", os: "linux", "x-platform-extra": { cpu: "u74" } }
      expect(decodePlatform(raw)).toEqual(raw)
      expect(Schema.decodeUnknownSync(Platform.Platform)(raw)).toEqual(raw)
    })

    it.prop("generated platforms decode to themselves", [arbPlatformJson], ([raw]) => {
      expect(decodePlatform(raw)).toEqual(raw)
      expect(Schema.encodeSync(Platform.Platform)(decodePlatform(raw))).toEqual(raw)
    })
  })
})
