import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, Option } from "effect"
import { parseSize } from "../src/Parse.js"
import * as Flags from "../src/Flags.js"
import { version } from "../src/version.js"
import packageJson from "../package.json" with { type: "json" }

describe("Flags", () => {
  it("parses lock timeouts: 0, ms, s, m, h", () => {
    const millis = (text: string) => Either.map(Flags.parseDuration(text), Duration.toMillis)
    expect(millis("0")).toEqual(Either.right(0))
    expect(millis("500ms")).toEqual(Either.right(500))
    expect(millis("30s")).toEqual(Either.right(30_000))
    expect(millis("1.5s")).toEqual(Either.right(1500))
    expect(millis("2m")).toEqual(Either.right(120_000))
    expect(millis("1h")).toEqual(Either.right(3_600_000))
    for (const bad of ["", "30", "abc", "-1s", "5 minutes", "1d", "s"]) {
      expect(Either.isLeft(Flags.parseDuration(bad)), bad).toBe(true)
    }
  })

  it("parses annotations as key=value, the value may hold '=' or be empty", () => {
    expect(Flags.parseAnnotation("a=b")).toEqual(Either.right(["a", "b"]))
    expect(Flags.parseAnnotation("a=b=c")).toEqual(Either.right(["a", "b=c"]))
    expect(Flags.parseAnnotation("a=")).toEqual(Either.right(["a", ""]))
    expect(Either.isLeft(Flags.parseAnnotation("a"))).toBe(true)
    expect(Either.isLeft(Flags.parseAnnotation("=b"))).toBe(true)
  })

  it("parses sizes: decimal whole numbers up to 2^53-1", () => {
    expect(parseSize("0")).toEqual(Option.some(0))
    expect(parseSize("9007199254740991")).toEqual(Option.some(9007199254740991))
    for (const bad of ["-1", "1.5", "1e3", "0x10", "", "9007199254740992", " 1"]) {
      expect(Option.isNone(parseSize(bad)), bad).toBe(true)
    }
  })

  it("the version is package.json's", () => {
    expect(version).toBe(packageJson.version)
  })
})
