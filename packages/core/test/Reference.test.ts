import { describe, expect, it } from "@effect/vitest"
import type { InvalidReference } from "@ocidx/core/Errors"
import * as Reference from "@ocidx/core/Reference"
import { Either, FastCheck as fc, Schema } from "effect"
import { arbRefName, arbRefNameString } from "./support/schemas.js"

const hex = "c13c7e9e50c18c7e7e7bf40ade60ff528230b41419d5b392e584e266a3111a4c"
const isRefName = Schema.is(Reference.RefName)

// The grammar from the annotations spec, written independently of the module's regex.
const alphanum = /^[A-Za-z0-9]+$/
const followsGrammar = (value: string): boolean =>
  value.split("/").every((component) => {
    const tokens = component.split(/(--|[-._:@+])/)
    return tokens.every((token, i) => (i % 2 === 0 ? alphanum.test(token) : true))
  })

const refusal = (result: Either.Either<Reference.NameOrTag, InvalidReference>): InvalidReference | undefined =>
  Either.isLeft(result) ? result.left : undefined

describe("Reference", () => {
  describe("RefName", () => {
    it.each([
      "v1",
      "1.0",
      "latest",
      "a--b",
      "foo/bar",
      `v1@sha256:${hex}`,
      "a:b",
      "A_b.c-d+e@f:g",
      "3.20",
      "a/b/c",
      "x--y--z",
      "1"
    ])("accepts %j", (value) => {
      expect(isRefName(value)).toBe(true)
    })

    it.each([
      "",
      "-a",
      "a-",
      "a//b",
      "/a",
      "a/",
      "a b",
      "a..b",
      "a---b",
      "a-.b",
      "a__b",
      ".a",
      "a\n",
      "tag!",
      "ü",
      "a\tb"
    ])("rejects %j", (value) => {
      expect(isRefName(value)).toBe(false)
      const result = Schema.decodeUnknownEither(Reference.RefName)(value)
      expect(Either.isLeft(result) && result.left.message).toContain("is not a valid ref name")
    })

    it.prop("matches the spec grammar", [fc.stringMatching(/^[ab.\-_:/]{1,8}$/)], ([value]) => {
      expect(isRefName(value)).toBe(followsGrammar(value))
    })

    it.prop(
      "Reference.isRefName says what the schema says, for any value",
      [fc.oneof(arbRefNameString, fc.stringMatching(/^[ab.\-_:/@+ ]{0,8}$/), fc.anything())],
      ([value]) => {
        expect(Reference.isRefName(value)).toBe(isRefName(value))
      }
    )

    it.prop("generated ref names are valid", [arbRefNameString], ([value]) => {
      expect(isRefName(value)).toBe(true)
      expect(followsGrammar(value)).toBe(true)
    })
  })

  describe("tagPart", () => {
    it.each([
      ["docker.io/library/alpine:3.20", "3.20"],
      ["localhost:5000/a/b:v1", "v1"],
      ["localhost:5000/a/b", "latest"],
      [`ghcr.io/o/r@sha256:${hex}`, `sha256:${hex}`],
      [`r:v1@sha256:${hex}`, `v1@sha256:${hex}`],
      [`localhost:5000/r:v1@sha256:${hex}`, `v1@sha256:${hex}`],
      [`localhost:5000/r@sha256:${hex}`, `sha256:${hex}`],
      ["alpine", "latest"],
      ["alpine:edge", "edge"],
      ["quay.io/org/sub/repo:2024.06.11-r1", "2024.06.11-r1"]
    ])("%s -> %s", (imageName, expected) => {
      expect(Reference.tagPart(imageName)).toBe(expected)
    })
  })

  describe("tag", () => {
    it("accepts a valid ref name as a Tag", () => {
      const result = Reference.tag("v1.2")
      expect(Either.isRight(result)).toBe(true)
      expect(Either.isRight(result) && result.right).toMatchObject({ _tag: "Tag", refName: "v1.2" })
    })

    it.each(["", "a b", "-a", "a..b", "a/"])("refuses %j with InvalidReference", (value) => {
      const error = refusal(Reference.tag(value))
      expect(error?._tag).toBe("InvalidReference")
      expect(error?.value).toBe(value)
      expect(error?.message).toContain(`invalid reference "${value}"`)
    })

    it.prop("accepts exactly the ref names", [fc.oneof(arbRefNameString, fc.string({ maxLength: 8 }))], ([value]) => {
      expect(Either.isRight(Reference.tag(value))).toBe(isRefName(value))
    })
  })

  describe("name", () => {
    it.each([
      ["docker.io/library/alpine:3.20", "3.20"],
      ["localhost:5000/a/b", "latest"],
      [`ghcr.io/o/r@sha256:${hex}`, `sha256:${hex}`],
      [`r:v1@sha256:${hex}`, `v1@sha256:${hex}`]
    ])("%s is a Name with ref name %s", (imageName, refName) => {
      const result = Reference.name(imageName)
      expect(Either.isRight(result) && result.right).toMatchObject({ _tag: "Name", imageName, refName })
    })

    it.each([
      ["spaces", "docker.io/library/alpine :3.20"],
      ["empty", ""],
      ["leading -", "-alpine"],
      ["leading /", "/alpine"],
      ["newline", "alpine\n"]
    ])("refuses %s with InvalidReference", (_label, value) => {
      const error = refusal(Reference.name(value))
      expect(error?._tag).toBe("InvalidReference")
      expect(error?.value).toBe(value)
      expect(error?.problem).toContain("without spaces")
    })

    it.each([
      ["an empty tag", "alpine:"],
      ["an empty digest", "alpine@"],
      ["a tag the ref grammar refuses", "alpine:a..b"]
    ])("refuses a name with %s, naming the tag part", (_label, value) => {
      const error = refusal(Reference.name(value))
      expect(error?._tag).toBe("InvalidReference")
      expect(error?.problem).toContain("is not a valid ref name")
    })

    it("matches on Tag and Name", () => {
      const render = Reference.match({
        Tag: ({ refName }) => `tag ${refName}`,
        Name: ({ imageName, refName }) => `name ${imageName} as ${refName}`
      })
      expect(Either.map(Reference.tag("v1"), render)).toEqual(Either.right("tag v1"))
      expect(Either.map(Reference.name("docker.io/library/alpine:3.20"), render)).toEqual(
        Either.right("name docker.io/library/alpine:3.20 as 3.20")
      )
    })

    it.prop("a name made of a repository and a valid tag keeps that tag", [arbRefName], ([refName]) => {
      fc.pre(!refName.includes("/") && !refName.includes("@"))
      const result = Reference.name(`registry.example.com:5000/team/app:${refName}`)
      expect(Either.isRight(result) && result.right.refName).toBe(refName)
    })
  })
})
