import { HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import * as Challenge from "../src/internal/registry/challenge.js"
import * as Http from "../src/internal/registry/http.js"

describe("WWW-Authenticate challenges", () => {
  it("reads a Bearer challenge with quoted values holding commas and escapes", () => {
    expect(
      Challenge.parse(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope"'
      )
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example/token",
          service: "registry.example",
          scope: "repository:a/b:pull,push",
          error: "insufficient_scope"
        }
      }
    ])
    expect(Challenge.parse('Bearer realm="a\\"b"')[0]?.params.realm).toBe('a"b')
  })

  it("reads several challenges in one header, unquoted values and odd spacing", () => {
    expect(Challenge.parse('Basic realm="Registry Realm", Bearer realm=https://t.example/token , service=reg')).toEqual(
      [
        { scheme: "basic", params: { realm: "Registry Realm" } },
        { scheme: "bearer", params: { realm: "https://t.example/token", service: "reg" } }
      ]
    )
    expect(Challenge.parse("BASIC")).toEqual([{ scheme: "basic", params: {} }])
    expect(Challenge.parse("")).toEqual([])
  })
})

describe("registry HTTP helpers", () => {
  const response = (url: string, headers: Record<string, string>) =>
    HttpClientResponse.fromWeb(HttpClientRequest.get(url), new Response(null, { status: 200, headers }))

  it("names a request without userinfo or any query parameter that could be a secret", () => {
    expect(
      Http.describeRequest(
        "PUT",
        "https://user:pw@r.example/v2/a/blobs/uploads/u?_state=SIGNED&digest=sha256:ab&X-Amz-Signature=s#frag"
      )
    ).toBe("PUT https://r.example/v2/a/blobs/uploads/u?digest=sha256%3Aab")
    expect(Http.describeRequest("GET", "https://auth.example/token?service=s&scope=repository:a:pull&account=me")).toBe(
      "GET https://auth.example/token?service=s&scope=repository%3Aa%3Apull"
    )
  })

  it("resolves Location and Link against the URL that answered, keeping their query", () => {
    const answered = response("https://r.example/v2/a/blobs/uploads/", {
      location: "/v2/a/blobs/uploads/u1?_state=x%2By",
      link: '</v2/a/tags/list?n=2&last=b>; rel="next", <https://other/x>; rel="prev"'
    })
    expect(Http.location(answered)).toBe("https://r.example/v2/a/blobs/uploads/u1?_state=x%2By")
    expect(Http.nextLink(answered)).toBe("https://r.example/v2/a/tags/list?n=2&last=b")
    expect(Http.nextLink(response("https://r.example/v2/a/tags/list", { link: '<https://other/x>; rel="prev"' }))).toBe(
      undefined
    )
  })

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    expect(Http.retryAfter("7", now)).toEqual(Duration.seconds(7))
    expect(Http.retryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toEqual(Duration.millis(30_000))
    expect(Http.retryAfter("Wed, 31 Dec 2025 00:00:30 GMT", now)).toEqual(Duration.millis(0))
    expect(Http.retryAfter("soon", now)).toBeUndefined()
    expect(Http.retryAfter(undefined, now)).toBeUndefined()
  })
})
