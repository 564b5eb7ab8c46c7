import { describe, expect, it } from "@effect/vitest"
import type { InvalidReference } from "@ocidx/core/Errors"
import * as ImageReference from "@ocidx/core/ImageReference"
import * as Digest from "@ocidx/core/Digest"
import { Either, FastCheck as fc, Option } from "effect"

const hex = "c13c7e9e50c18c7e7e7bf40ade60ff528230b41419d5b392e584e266a3111a4c"
const digest = `sha256:${hex}`

const parsed = (text: string): ImageReference.ImageReference => {
  const result = ImageReference.parse(text)
  if (Either.isLeft(result)) throw new Error(`expected ${text} to parse: ${result.left.message}`)
  return result.right
}

const refused = (text: string): InvalidReference => {
  const result = ImageReference.parse(text)
  if (Either.isRight(result)) throw new Error(`expected ${text} to be refused, got ${JSON.stringify(result.right)}`)
  return result.left
}

describe("ImageReference", () => {
  describe("parse", () => {
    it.each([
      ["ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
      ["ubuntu:24.04", { registry: "docker.io", repository: "library/ubuntu", tag: "24.04" }],
      ["docker.io/ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
      ["index.docker.io/ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
      ["registry-1.docker.io/library/ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
      ["Docker.IO/ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
      ["org/app", { registry: "docker.io", repository: "org/app" }],
      ["docker.io/org/app:v1", { registry: "docker.io", repository: "org/app", tag: "v1" }],
      ["ghcr.io/org/app", { registry: "ghcr.io", repository: "org/app" }],
      ["GHCR.io/org/app", { registry: "ghcr.io", repository: "org/app" }],
      ["ghcr.io/app", { registry: "ghcr.io", repository: "app" }],
      [`localhost:5000/a:b@${digest}`, { registry: "localhost:5000", repository: "a", tag: "b", digest }],
      ["localhost/a", { registry: "localhost", repository: "a" }],
      ["myhost:5000/x", { registry: "myhost:5000", repository: "x" }],
      ["[::1]:5000/x", { registry: "[::1]:5000", repository: "x" }],
      ["127.0.0.1:5000/a/b/c:1.0", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "1.0" }],
      [`alpine@${digest}`, { registry: "docker.io", repository: "library/alpine", digest }],
      ["a.b-c/f_g.h__i-j---k:V_1-x.y", { registry: "a.b-c", repository: "f_g.h__i-j---k", tag: "V_1-x.y" }],
      ["x/a__b/c--d:_tag", { registry: "docker.io", repository: "x/a__b/c--d", tag: "_tag" }]
    ])("%s", (text, expected) => {
      expect(parsed(text)).toEqual({ tag: undefined, digest: undefined, ...expected })
    })

    it("refuses an uppercase repository, saying it must be lowercase and how a registry is recognised", () => {
      const error = refused("UPPER/x")
      expect(error._tag).toBe("InvalidReference")
      expect(error.value).toBe("UPPER/x")
      expect(error.problem).toContain("must be lowercase")
      expect(error.problem).toContain("a registry host contains a dot or a port")
      expect(refused("ghcr.io/Org/app").problem).toContain("must be lowercase")
    })

    it.each([
      ["", "cannot be empty"],
      ["docker://ubuntu", "without a scheme"],
      ["ghcr.io/", "repository name is missing"],
      ["ghcr.io/a//b", "not a valid repository path component"],
      ["a/-b", "not a valid repository path component"],
      ["a/b.", "not a valid repository path component"],
      ["a/b___c", "not a valid repository path component"],
      ["a b", "not a valid repository path component"],
      ["ubuntu:", "is not a valid tag"],
      ["ubuntu:.x", "is not a valid tag"],
      [`ubuntu:${"t".repeat(129)}`, "is not a valid tag"],
      ["ubuntu@sha256:abc", "not a valid sha256 digest"],
      ["ubuntu@nope", "is not a digest"],
      ["bad_host.io:5000/x", "is not a registry host"],
      ["host:port/x", "is not a registry host"],
      [`a/${"b".repeat(260)}`, "longer than 255"]
    ])("refuses %j", (text, problem) => {
      const error = refused(text)
      expect(error._tag).toBe("InvalidReference")
      expect(error.problem).toContain(problem)
    })

    it("accepts a tag of exactly 128 characters", () => {
      expect(parsed(`a:${"t".repeat(128)}`).tag).toHaveLength(128)
    })
  })

  describe("format", () => {
    it("writes the canonical form", () => {
      expect(ImageReference.format(parsed("ubuntu"))).toBe("docker.io/library/ubuntu")
      expect(ImageReference.format(parsed(`localhost:5000/a:b@${digest}`))).toBe(`localhost:5000/a:b@${digest}`)
    })

    const component = fc.stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/).filter((c) => c.length < 20)
    const registry = fc.oneof(
      fc.constantFrom("docker.io", "ghcr.io", "localhost", "localhost:5000", "[::1]:5000", "127.0.0.1:1", "a.b.c:443")
    )
    const arbReference = fc.record({
      registry,
      repository: fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/")),
      tag: fc.option(fc.stringMatching(/^[\w][\w.-]{0,20}$/), { nil: undefined }),
      digest: fc.option(fc.constant(Digest.parse(digest).pipe(Option.getOrThrow)), { nil: undefined })
    })

    it.prop("parse(format(ref)) is ref, once normalised", [arbReference], ([ref]) => {
      const once = parsed(ImageReference.format(ref))
      expect(parsed(ImageReference.format(once))).toEqual(once)
      expect(once.registry).toBe(ref.registry)
      expect(once.tag).toBe(ref.tag)
      expect(once.digest).toBe(ref.digest)
      const expected =
        ref.registry === "docker.io" && !ref.repository.includes("/") ? `library/${ref.repository}` : ref.repository
      expect(once.repository).toBe(expected)
    })
  })

  describe("registries", () => {
    it("endpoint: Docker Hub's API host, else the registry", () => {
      expect(ImageReference.endpoint("docker.io")).toBe("registry-1.docker.io")
      expect(ImageReference.endpoint("index.docker.io")).toBe("registry-1.docker.io")
      expect(ImageReference.endpoint("ghcr.io")).toBe("ghcr.io")
      expect(ImageReference.endpoint("localhost:5000")).toBe("localhost:5000")
    })

    it.each([
      ["ghcr.io", "ghcr.io"],
      ["GHCR.io", "ghcr.io"],
      ["https://ghcr.io/v2/", "ghcr.io"],
      ["http://localhost:5000", "localhost:5000"],
      ["https://index.docker.io/v1/", "docker.io"],
      ["registry-1.docker.io", "docker.io"],
      ["[::1]:5000", "[::1]:5000"]
    ])("parseRegistry(%j) is %j", (text, expected) => {
      expect(ImageReference.parseRegistry(text)).toEqual(Either.right(expected))
    })

    it.each(["", "a b", "__proto__", "ghcr.io:port", "-x.io", "ftp://ghcr.io"])("parseRegistry refuses %j", (text) => {
      const result = ImageReference.parseRegistry(text)
      expect(Either.isLeft(result) && result.left.problem).toContain("host[:port]")
    })

    it("configKeys: docker's key for Docker Hub first, the host for the others", () => {
      expect(ImageReference.configKeys("docker.io")[0]).toBe("https://index.docker.io/v1/")
      expect(ImageReference.configKeys("docker.io")).toContain("index.docker.io")
      expect(ImageReference.configKeys("localhost:5000")[0]).toBe("localhost:5000")
      expect(ImageReference.configKey("docker.io")).toBe("https://index.docker.io/v1/")
      expect(ImageReference.configKey("Ghcr.io")).toBe("ghcr.io")
    })

    it.each([
      ["ghcr.io", "ghcr.io", true],
      ["ghcr.io", "https://ghcr.io", true],
      ["ghcr.io", "http://ghcr.io/v1/", true],
      ["ghcr.io", "ghcr.io/v2/", true],
      ["ghcr.io", "GHCR.IO", true],
      ["ghcr.io", "ghcr.io:443", false],
      ["ghcr.io", "evilghcr.io", false],
      ["ghcr.io", "ghcr.io.evil", false],
      ["localhost:5000", "http://localhost:5000", true],
      ["localhost:5000", "localhost", false],
      ["docker.io", "https://index.docker.io/v1/", true],
      ["docker.io", "index.docker.io", true],
      ["docker.io", "registry-1.docker.io", true],
      ["docker.io", "ghcr.io", false]
    ])("matchesConfigKey(%j, %j) is %j", (reg, key, expected) => {
      expect(ImageReference.matchesConfigKey(reg, key)).toBe(expected)
    })

    it("findConfigKey prefers an exact key over one that only matches", () => {
      expect(ImageReference.findConfigKey("ghcr.io", ["https://ghcr.io/v1/", "ghcr.io"])).toBe("ghcr.io")
      expect(ImageReference.findConfigKey("ghcr.io", ["quay.io", "https://ghcr.io/token"])).toBe(
        "https://ghcr.io/token"
      )
      expect(ImageReference.findConfigKey("docker.io", ["docker.io", "https://index.docker.io/v1/"])).toBe(
        "https://index.docker.io/v1/"
      )
      expect(ImageReference.findConfigKey("ghcr.io", ["quay.io"])).toBeUndefined()
    })

    it.each([
      ["localhost", true],
      ["localhost:5000", true],
      ["LOCALHOST:5000", true],
      ["127.0.0.1", true],
      ["127.0.0.1:5000", true],
      ["127.255.3.4:80", true],
      ["[::1]", true],
      ["[::1]:5000", true],
      ["::1", true],
      ["[0:0:0:0:0:0:0:1]:5000", true],
      ["[::2]:5000", false],
      ["[::]:5000", false],
      ["128.0.0.1", false],
      ["127.0.0.256", false],
      ["127.0.0.1.nip.io", false],
      ["localhost.example.com", false],
      ["mylocalhost", false],
      ["ghcr.io", false],
      ["docker.io", false]
    ])("isLoopback(%j) is %j", (reg, expected) => {
      expect(ImageReference.isLoopback(reg)).toBe(expected)
    })
  })
})
