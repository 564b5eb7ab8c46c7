import { describe, expect, it } from "@effect/vitest"
import * as OciLayout from "@ocidx/core/OciLayout"
import { Effect, Exit, FastCheck as fc, Schema } from "effect"
import { decodeJsonFile } from "../src/internal/decode.js"
import { arbJsonValue, bytesOf, decodeErrorOf, fixtureBytes, issuePaths } from "./support/schemas.js"

const decodeFile = (bytes: Uint8Array) =>
  Effect.runSync(Effect.exit(decodeJsonFile(OciLayout.OciLayout, "oci-layout", bytes)))

const decodeOk = (bytes: Uint8Array): OciLayout.OciLayout => {
  const exit = decodeFile(bytes)
  if (Exit.isFailure(exit)) throw new Error(`expected success: ${JSON.stringify(exit.cause)}`)
  return exit.value.value
}

describe("OciLayout", () => {
  it("writes buildkit's exact bytes", () => {
    expect(OciLayout.supportedVersion).toBe("1.0.0")
    expect(OciLayout.defaultContent).toBe('{"imageLayoutVersion":"1.0.0"}')
    expect(bytesOf(OciLayout.defaultContent)).toEqual(fixtureBytes("buildkit-oci-layout"))
  })

  it("decodes skopeo's oci-layout, written with a space", () => {
    const bytes = fixtureBytes("skopeo-oci-layout")
    expect(new TextDecoder().decode(bytes)).toBe('{"imageLayoutVersion": "1.0.0"}')
    expect(decodeOk(bytes)).toEqual({ imageLayoutVersion: OciLayout.supportedVersion })
  })

  it("decodes buildkit's oci-layout and its own default content", () => {
    expect(decodeOk(fixtureBytes("buildkit-oci-layout"))).toEqual({ imageLayoutVersion: "1.0.0" })
    expect(decodeOk(bytesOf(OciLayout.defaultContent)).imageLayoutVersion).toBe(OciLayout.supportedVersion)
  })

  it("decodes other versions (refusing to write into them is the store's job)", () => {
    expect(decodeOk(bytesOf('{"imageLayoutVersion":"2.0.0"}')).imageLayoutVersion).toBe("2.0.0")
  })

  it("keeps extra fields", () => {
    expect(decodeOk(bytesOf('{"imageLayoutVersion":"1.0.0","x-tool":{"name":"umoci"}}'))).toEqual({
      imageLayoutVersion: "1.0.0",
      "x-tool": { name: "umoci" }
    })
    expect(Schema.decodeUnknownSync(OciLayout.OciLayout)({ imageLayoutVersion: "1.0.0", extra: 1 })).toEqual({
      imageLayoutVersion: "1.0.0",
      extra: 1
    })
  })

  it.each([
    ["a missing version", "{}"],
    ["a numeric version", '{"imageLayoutVersion":1}'],
    ["a null version", '{"imageLayoutVersion":null}']
  ])("rejects %s, naming the field", (_label, text) => {
    const error = decodeErrorOf(decodeFile(bytesOf(text)))
    expect(error.reason).toBe("schema")
    expect(issuePaths(error)).toContainEqual(["imageLayoutVersion"])
    expect(error.message).toContain('oci-layout is invalid at ["imageLayoutVersion"]')
  })

  it.each([
    ["an empty file", "", "json"],
    ["truncated JSON", '{"imageLayoutVersion":"1.0', "json"],
    ["an array", "[]", "schema"],
    ["a string", '"1.0.0"', "schema"]
  ])("rejects %s with reason %s", (_label, text, reason) => {
    expect(decodeErrorOf(decodeFile(bytesOf(text))).reason).toBe(reason)
  })

  it("rejects invalid UTF-8 with reason utf8", () => {
    const error = decodeErrorOf(decodeFile(new Uint8Array([0x7b, 0xff, 0x7d])))
    expect(error.reason).toBe("utf8")
    expect(error.message).toContain("oci-layout is invalid")
  })

  it.prop("any string version decodes, anything else is a schema error", [arbJsonValue], ([version]) => {
    const exit = decodeFile(bytesOf(JSON.stringify({ imageLayoutVersion: version })))
    if (typeof version === "string") expect(Exit.isSuccess(exit)).toBe(true)
    else expect(decodeErrorOf(exit).reason).toBe("schema")
  })

  it.prop("unknown fields survive", [fc.dictionary(fc.constantFrom("a", "b", "x-y"), arbJsonValue)], ([extra]) => {
    const raw = { ...extra, imageLayoutVersion: "1.0.0" }
    expect(decodeOk(bytesOf(JSON.stringify(raw)))).toEqual(raw)
  })
})
