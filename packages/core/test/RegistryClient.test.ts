import { createHash } from "node:crypto"
import { HttpClient, HttpClientError } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import * as Digest from "@ocidx/core/Digest"
import type { RegistryError } from "@ocidx/core/Errors"
import * as Hasher from "@ocidx/core/Hasher"
import * as MediaType from "@ocidx/core/MediaType"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as testing from "@ocidx/core/testing"
import { Cause, Chunk, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const repo = (repository: string): RegistryClient.Repository => ({ registry: "registry.test", repository })
const app = repo("team/app")

const sha256 = (bytes: Uint8Array | string): Digest.Digest =>
  Option.getOrThrow(Digest.parse(`sha256:${createHash("sha256").update(bytes).digest("hex")}`))

const bytesOf = (text: string) => encoder.encode(text)

const manifestText = (config: Digest.Digest, layers: ReadonlyArray<{ digest: Digest.Digest; size: number }>) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config, size: 2 },
    layers: layers.map((layer) => ({ mediaType: MediaType.ociLayerTar, ...layer }))
  })

const fastRetries = { attempts: 3, baseDelay: "1 second", maxDelay: "4 seconds" } as const

const provide = (
  options?: testing.MemoryRegistryOptions & {
    readonly credentials?: Readonly<Record<string, Credentials.Credential>>
    readonly client?: RegistryClient.Options
  }
) => Effect.provide(testing.layerRegistryClient({ client: { retry: fastRetries }, ...options }))

const clientAndRegistry = Effect.all({ client: RegistryClient.RegistryClient, registry: testing.MemoryRegistry })

const collect = (stream: Stream.Stream<Uint8Array, RegistryError>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => decoder.decode(concat(Chunk.toReadonlyArray(chunks))))

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

const failureOf = <A>(effect: Effect.Effect<A, RegistryError>) =>
  Effect.flip(effect).pipe(Effect.map((error) => ({ tag: error._tag, reason: error.reason, error })))

const password = "s3cret-Pa55word"
const basicAuth = { username: "ci", password }
const credentials = { "registry.test": { _tag: "Password", ...basicAuth } } as const

describe("RegistryClient on the in-memory registry", () => {
  it.effect("puts and gets manifests by tag and digest, with the digest over the exact bytes", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const text = `${manifestText(sha256("{}"), [])}\n`
      const bytes = bytesOf(text)
      // As distribution does, the registry refuses a manifest whose blobs are not there yet.
      const early = yield* failureOf(client.putManifest(app, "v1", { mediaType: MediaType.ociManifest, bytes }))
      expect([early.reason, early.error.status, early.error.code]).toEqual(["protocol", 400, "MANIFEST_BLOB_UNKNOWN"])
      yield* registry.putBlob("team/app", "{}")
      const digest = yield* client.putManifest(app, "v1", { mediaType: MediaType.ociManifest, bytes })
      expect(digest).toBe(sha256(bytes))
      const byTag = yield* client.getManifest(app, "v1")
      expect(decoder.decode(byTag.bytes)).toBe(text)
      expect(byTag.descriptor).toEqual({ mediaType: MediaType.ociManifest, digest, size: bytes.length })
      const byDigest = yield* client.getManifest(app, digest)
      expect(byDigest.descriptor.digest).toBe(digest)
      expect(yield* client.headManifest(app, "v1")).toEqual(Option.some(byTag.descriptor))
      expect(yield* client.headManifest(app, "v2")).toEqual(Option.none())
      const missing = yield* failureOf(client.getManifest(app, "v2"))
      expect([missing.reason, missing.error.status, missing.error.code]).toEqual(["not-found", 404, "MANIFEST_UNKNOWN"])
      expect(missing.error.request).toBe("GET https://registry.test/v2/team/app/manifests/v2")
    }).pipe(provide())
  )

  it.effect("refuses to put a manifest under a digest its bytes do not have", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const failure = yield* failureOf(
        client.putManifest(app, sha256("other"), { mediaType: MediaType.ociManifest, bytes: bytesOf("{}") })
      )
      expect(failure.reason).toBe("digest-mismatch")
      expect(registry.stats().manifestPuts).toBe(0)
    }).pipe(provide())
  )

  it.effect("uploads a blob once, then finds it present, and reads it back verified", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const content = "layer bytes ".repeat(1000)
      const descriptor = { digest: sha256(content), size: content.length }
      const pulled: Array<number> = []
      const source = () => {
        pulled.push(1)
        return Stream.make(bytesOf(content.slice(0, 5000)), bytesOf(content.slice(5000)))
      }
      expect(yield* client.uploadBlob(app, descriptor, source)).toBe("uploaded")
      expect(yield* client.uploadBlob(app, descriptor, source)).toBe("present")
      expect(pulled).toHaveLength(1)
      expect(registry.stats().uploads).toBe(1)
      expect(yield* client.headBlob(app, descriptor.digest)).toEqual(Option.some(content.length))
      expect(yield* client.headBlob(app, sha256("absent"))).toEqual(Option.none())
      expect(yield* collect(client.getBlob(app, descriptor))).toBe(content)
      const empty = { digest: sha256(""), size: 0 }
      expect(yield* client.uploadBlob(app, empty, () => Stream.empty)).toBe("uploaded")
      expect(registry.blob("team/app", empty.digest)).toEqual(new Uint8Array(0))
    }).pipe(provide())
  )

  it.effect("mounts a blob from another repository of the same registry instead of uploading it", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const digest = yield* registry.putBlob("team/base", "shared layer")
      const descriptor = { digest, size: "shared layer".length }
      const outcome = yield* client.uploadBlob(app, descriptor, () => Stream.die("must not be read"), {
        mountFrom: "team/base"
      })
      expect(outcome).toBe("mounted")
      expect(registry.stats()).toMatchObject({ mounts: 1, uploads: 0 })
      expect(decoder.decode(registry.blob("team/app", digest))).toBe("shared layer")
      // A mount the source cannot serve is an ordinary upload session.
      const other = { digest: sha256("fresh"), size: 5 }
      const fresh = yield* client.uploadBlob(repo("team/other"), other, () => Stream.make(bytesOf("fresh")), {
        mountFrom: "team/base"
      })
      expect(fresh).toBe("uploaded")
      expect(registry.stats()).toMatchObject({ mounts: 1, uploads: 1 })
    }).pipe(provide())
  )

  it.effect("uploads in PATCH chunks, each at the latest Location, where the registry asks for chunks", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const content = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => i % 251)
      const descriptor = { digest: sha256(content), size: content.length }
      const outcome = yield* client.uploadBlob(app, descriptor, () =>
        Stream.fromIterable([content.subarray(0, 300_000), content.subarray(300_000)])
      )
      expect(outcome).toBe("uploaded")
      const stored = registry.blob("team/app", descriptor.digest)
      expect(stored === undefined ? undefined : sha256(stored)).toBe(descriptor.digest)
      const patches = registry.requests().filter((request) => request.method === "PATCH")
      expect(patches.map((request) => request.headers["content-range"])).toEqual([
        "0-1048575",
        "1048576-2097151",
        "2097152-2621439"
      ])
    }).pipe(provide({ chunkMinLength: 1024 }))
  )

  it.effect("an upload fails with the content's own error, and a content of the wrong size is a digest mismatch", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const descriptor = { digest: sha256("abc"), size: 3 }
      const own = yield* Effect.flip(client.uploadBlob(app, descriptor, () => Stream.fail("disk gone" as const)))
      expect(own).toBe("disk gone")
      const short = yield* Effect.flip(client.uploadBlob(app, descriptor, () => Stream.make(bytesOf("ab"))))
      expect(short).toMatchObject({ _tag: "RegistryError", reason: "digest-mismatch" })
      const wrong = yield* Effect.flip(client.uploadBlob(app, descriptor, () => Stream.make(bytesOf("abd"))))
      expect(wrong).toMatchObject({ _tag: "RegistryError", reason: "digest-mismatch", code: "DIGEST_INVALID" })
      expect(registry.stats().uploads).toBe(0)
    }).pipe(provide())
  )

  it.effect("lists every tag, following Link pagination", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const names = ["a", "b", "c", "d", "e"]
      for (const tag of names)
        yield* registry.putManifest("team/app", tag, { mediaType: MediaType.ociIndex, bytes: "{}" })
      expect(yield* client.listTags(app)).toEqual(names)
      const pages = registry.requests().filter((request) => request.url.includes("/tags/list"))
      expect(pages).toHaveLength(3)
      const missing = yield* failureOf(client.listTags(repo("nobody/here")))
      expect(missing.reason).toBe("not-found")
    }).pipe(provide({ tagsPageSize: 2 }))
  )

  const subjectFixture = Effect.gen(function* () {
    const registry = yield* testing.MemoryRegistry
    const subject = yield* registry.putManifest("team/app", "v1", {
      mediaType: MediaType.ociManifest,
      bytes: manifestText(sha256("{}"), [])
    })
    const referrer = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: MediaType.ociEmpty, digest: sha256("{}"), size: 2 },
      layers: [],
      subject: { mediaType: MediaType.ociManifest, digest: subject, size: 10 }
    }
    const sbom = yield* registry.putManifest("team/app", undefined, {
      mediaType: MediaType.ociManifest,
      bytes: JSON.stringify(referrer)
    })
    const signature = yield* registry.putManifest("team/app", undefined, {
      mediaType: MediaType.ociManifest,
      bytes: JSON.stringify({ ...referrer, artifactType: "application/vnd.example.sig" })
    })
    return { registry, subject, sbom, signature }
  })

  it.effect("finds referrers through the referrers API, filtered by artifact type", () =>
    Effect.gen(function* () {
      const { subject, sbom, signature } = yield* subjectFixture
      const client = yield* RegistryClient.RegistryClient
      const all = yield* client.referrers(app, subject)
      expect(all.map((d) => d.digest).sort()).toEqual([sbom, signature].sort())
      const sboms = yield* client.referrers(app, subject, { artifactType: "application/vnd.example.sbom" })
      expect(sboms.map((d) => d.digest)).toEqual([sbom])
      expect(yield* client.referrers(app, sha256("nothing"))).toEqual([])
    }).pipe(provide())
  )

  it.effect("falls back to the <alg>-<hex> tag schema where the registry has no referrers API", () =>
    Effect.gen(function* () {
      const { registry, subject, sbom } = yield* subjectFixture
      const client = yield* RegistryClient.RegistryClient
      expect(yield* client.referrers(app, subject)).toEqual([])
      const index = {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: MediaType.ociManifest, digest: sbom, size: 10, artifactType: "application/vnd.example.sbom" },
          { mediaType: MediaType.ociManifest, digest: sha256("x"), size: 3, artifactType: "application/other" }
        ]
      }
      yield* registry.putManifest("team/app", `sha256-${Digest.encoded(subject)}`, {
        mediaType: MediaType.ociIndex,
        bytes: JSON.stringify(index)
      })
      const found = yield* client.referrers(app, subject, { artifactType: "application/vnd.example.sbom" })
      expect(found.map((d) => d.digest)).toEqual([sbom])
      expect(yield* client.referrers(app, subject)).toHaveLength(2)
    }).pipe(provide({ referrersApi: false }))
  )
})

describe("RegistryClient manifests it refuses", () => {
  const serve = (body: Uint8Array | string, headers: Record<string, string>) => (registry: testing.MemoryRegistry) =>
    registry.intercept((request) =>
      request.url.includes("/manifests/") ? new Response(body, { status: 200, headers }) : undefined
    )

  it.effect("refuses Docker schema 1 with a clear protocol error", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      serve(JSON.stringify({ schemaVersion: 1, name: "team/app", fsLayers: [] }), {
        "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws"
      })(registry)
      const failure = yield* failureOf(client.getManifest(app, "old"))
      expect(failure.reason).toBe("protocol")
      expect(failure.error.message).toContain("schema 1")
      // Also when the content type does not say so.
      serve(JSON.stringify({ schemaVersion: 1, name: "team/app" }), { "content-type": "application/json" })(registry)
      expect((yield* failureOf(client.getManifest(app, "old"))).reason).toBe("protocol")
      const accept = registry.requests()[0]?.headers.accept ?? ""
      expect(accept.split(", ").sort()).toEqual(
        [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].sort()
      )
    }).pipe(provide())
  )

  it.effect("refuses a manifest above 4 MiB, by its Content-Length or while reading", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const big = new Uint8Array(4 * 1024 * 1024 + 1).fill(32)
      serve(big, { "content-type": MediaType.ociManifest, "content-length": String(big.length) })(registry)
      expect((yield* failureOf(client.getManifest(app, "big"))).reason).toBe("too-large")
      serve(big, { "content-type": MediaType.ociManifest })(registry)
      expect((yield* failureOf(client.getManifest(app, "big"))).reason).toBe("too-large")
      // Without a Content-Length, the read stops past the limit.
      let pulled = 0
      registry.intercept((request) =>
        request.url.includes("/manifests/")
          ? new Response(
              new ReadableStream({
                pull: (controller) => {
                  pulled++
                  controller.enqueue(new Uint8Array(1024 * 1024).fill(32))
                  if (pulled > 100) controller.close()
                }
              }),
              { status: 200, headers: { "content-type": MediaType.ociManifest } }
            )
          : undefined
      )
      expect((yield* failureOf(client.getManifest(app, "big"))).reason).toBe("too-large")
      expect(pulled).toBeLessThan(10)
      const put = yield* failureOf(client.putManifest(app, "big", { mediaType: MediaType.ociManifest, bytes: big }))
      expect(put.reason).toBe("too-large")
    }).pipe(provide())
  )

  it.effect("checks the digest against the reference and Docker-Content-Digest", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const body = manifestText(sha256("{}"), [])
      serve(body, { "content-type": MediaType.ociManifest, "docker-content-digest": sha256("other") })(registry)
      expect((yield* failureOf(client.getManifest(app, "v1"))).reason).toBe("digest-mismatch")
      serve(body, { "content-type": MediaType.ociManifest })(registry)
      expect((yield* failureOf(client.getManifest(app, sha256("other")))).reason).toBe("digest-mismatch")
      const ok = yield* client.getManifest(app, sha256(body))
      expect(ok.descriptor.digest).toBe(sha256(body))
    }).pipe(provide())
  )
})

describe("RegistryClient blobs that are not what they claim", () => {
  const serveBlob = (registry: testing.MemoryRegistry, body: string) =>
    registry.intercept((request) =>
      request.method === "GET" && request.url.includes("/blobs/sha256:") ? new Response(body) : undefined
    )

  it.effect("fails with digest-mismatch on wrong bytes, a short blob, or a long one (before passing it on)", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const digest = yield* registry.putBlob("team/app", "right")
      const descriptor = { digest, size: 5 }
      expect(yield* collect(client.getBlob(app, descriptor))).toBe("right")
      serveBlob(registry, "wrong")
      expect((yield* failureOf(Stream.runDrain(client.getBlob(app, descriptor)))).reason).toBe("digest-mismatch")
      serveBlob(registry, "righ")
      expect((yield* failureOf(Stream.runDrain(client.getBlob(app, descriptor)))).reason).toBe("digest-mismatch")
      serveBlob(registry, "right and more")
      const passed: Array<Uint8Array> = []
      const long = yield* failureOf(
        Stream.runForEach(client.getBlob(app, descriptor), (chunk) => Effect.sync(() => passed.push(chunk)))
      )
      expect(long.reason).toBe("digest-mismatch")
      expect(passed).toEqual([])
    }).pipe(provide())
  )
})

/** Everything a failure could print: none of it may hold a secret. */
const printed = (error: RegistryError): string =>
  [error.message, String(error), JSON.stringify(error), Cause.pretty(Cause.fail(error))].join("\n")

const secrets = [password, btoa(`ci:${password}`), "memory-token-"]

const expectNoSecret = (error: RegistryError) => {
  const text = printed(error)
  for (const secret of secrets) expect(text).not.toContain(secret)
}

const sentAuthorization = (registry: testing.MemoryRegistry) =>
  registry.requests().map((request) => request.headers.authorization !== undefined)

describe("RegistryClient auth", () => {
  it.effect("Basic: anonymous first, then the stored credentials for the rest of the session", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const digest = yield* client.putManifest(app, "v1", { mediaType: MediaType.ociIndex, bytes: bytesOf("{}") })
      expect((yield* client.getManifest(app, "v1")).descriptor.digest).toBe(digest)
      expect(sentAuthorization(registry)).toEqual([false, true, true])
    }).pipe(provide({ auth: basicAuth, credentials }))
  )

  it.effect("Basic: no credentials, or wrong ones, are unauthorized, and the password is never printed", () =>
    Effect.gen(function* () {
      const { client } = yield* clientAndRegistry
      const none = yield* failureOf(client.getManifest(app, "v1"))
      expect([none.reason, none.error.status, none.error.code]).toEqual(["unauthorized", 401, "UNAUTHORIZED"])
    }).pipe(
      provide({ auth: basicAuth }),
      Effect.zipRight(
        Effect.gen(function* () {
          const { client, registry } = yield* clientAndRegistry
          const wrong = yield* failureOf(client.ping("registry.test"))
          expect(wrong.reason).toBe("unauthorized")
          expect(sentAuthorization(registry)).toEqual([false, true])
          expectNoSecret(wrong.error)
        }).pipe(provide({ auth: { username: "ci", password: "other" }, credentials }))
      )
    )
  )

  it.effect("Bearer: a token per scope from the realm, cached, and one for both repositories when mounting", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const base = repo("team/base")
      const layer = { digest: sha256("layer"), size: 5 }
      expect(yield* client.uploadBlob(base, layer, () => Stream.make(bytesOf("layer")))).toBe("uploaded")
      const tokensAfterUpload = registry.stats().tokens
      expect(yield* client.uploadBlob(app, layer, () => Stream.die("not read"), { mountFrom: "team/base" })).toBe(
        "mounted"
      )
      const tokenRequest = registry
        .requests()
        .filter((request) => request.url.includes("/token?"))
        .at(-1)
      const scopes = new URL(tokenRequest?.url ?? "http://x").searchParams.getAll("scope")
      expect(scopes).toEqual(["repository:team/app:pull,push", "repository:team/base:pull"])
      expect(tokenRequest?.headers.authorization).toBe(`Basic ${btoa(`ci:${password}`)}`)
      expect(yield* collect(client.getBlob(app, layer))).toBe("layer")
      expect(yield* collect(client.getBlob(app, layer))).toBe("layer")
      // One token for the upload, one for the mount, one for pulling from team/app: each reused while it lasts.
      expect(registry.stats().tokens).toBe(tokensAfterUpload + 2)
      yield* TestClock.adjust("10 minutes")
      expect(yield* collect(client.getBlob(app, layer))).toBe("layer")
      expect(registry.stats().tokens).toBe(tokensAfterUpload + 3)
    }).pipe(provide({ auth: { ...basicAuth, scheme: "bearer" }, credentials }))
  )

  it.effect("Bearer: a token the registry stops accepting is renewed once; a refused one is unauthorized", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      yield* registry.putManifest("team/app", "v1", { mediaType: MediaType.ociIndex, bytes: "{}" })
      yield* client.getManifest(app, "v1")
      const tokens = registry.stats().tokens
      let revoked = 1
      registry.intercept((request) =>
        request.url.includes("/manifests/") && request.headers.authorization !== undefined && revoked-- > 0
          ? new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "token expired" }] }), {
              status: 401,
              headers: { "www-authenticate": `Bearer realm="https://registry.test/token",service="memory"` }
            })
          : undefined
      )
      yield* client.getManifest(app, "v1")
      expect(registry.stats().tokens).toBe(tokens + 1)
      registry.intercept((request) =>
        request.url.includes("/manifests/")
          ? new Response("{}", {
              status: 401,
              headers: { "www-authenticate": `Bearer realm="https://registry.test/token",service="memory"` }
            })
          : undefined
      )
      const refused = yield* failureOf(client.getManifest(app, "v1"))
      expect(refused.reason).toBe("unauthorized")
      expect(registry.stats().tokens).toBe(tokens + 2)
      expectNoSecret(refused.error)
    }).pipe(provide({ auth: { ...basicAuth, scheme: "bearer" }, credentials }))
  )

  it.effect("Bearer: wrong credentials are refused by the token endpoint: unauthorized, nothing secret printed", () =>
    Effect.gen(function* () {
      const { client } = yield* clientAndRegistry
      const failure = yield* failureOf(client.listTags(app))
      expect([failure.reason, failure.error.status, failure.error.detail]).toEqual([
        "unauthorized",
        401,
        "wrong credentials"
      ])
      expect(failure.error.request).toBe(
        "GET https://registry.test/token?service=memory&scope=repository%3Ateam%2Fapp%3Apull"
      )
      expectNoSecret(failure.error)
    }).pipe(provide({ auth: { username: "ci", password: "other", scheme: "bearer" }, credentials }))
  )

  it.effect("Bearer: an identity token is exchanged through the OAuth2 refresh_token form", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      yield* registry.putManifest("team/app", "v1", { mediaType: MediaType.ociIndex, bytes: "{}" })
      yield* client.getManifest(app, "v1")
      const post = registry.requests().find((request) => request.method === "POST")
      expect(post?.url).toBe("https://registry.test/token")
      expect(post?.headers.authorization).toBeUndefined()
    }).pipe(
      provide({
        auth: { ...basicAuth, scheme: "bearer", identityToken: "refresh-me" },
        credentials: { "registry.test": { _tag: "IdentityToken", token: "refresh-me" } }
      })
    )
  )
})

/** Runs `effect` while the test clock moves on a second at a time: retries and backoff happen in virtual time. */
const withClock = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    for (let second = 0; second < 600; second++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return yield* done.value
      yield* TestClock.adjust("1 second")
    }
    return yield* Fiber.join(fiber)
  })

describe("RegistryClient retries", () => {
  const failTimes = (registry: testing.MemoryRegistry, times: number, status: number, headers = {}) => {
    let left = times
    registry.intercept(() =>
      left-- > 0
        ? new Response(JSON.stringify({ errors: [{ code: "BUSY", message: "busy" }] }), { status, headers })
        : undefined
    )
  }

  it.effect("503 and 408 answers are tried again, and succeed when the registry recovers", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      yield* registry.putManifest("team/app", "v1", { mediaType: MediaType.ociIndex, bytes: "{}" })
      failTimes(registry, 2, 503)
      yield* withClock(client.getManifest(app, "v1"))
      expect(registry.requests()).toHaveLength(3)
      failTimes(registry, 1, 408)
      yield* withClock(client.headManifest(app, "v1"))
      expect(registry.requests()).toHaveLength(5)
    }).pipe(provide())
  )

  it.effect("a 429 waits as long as Retry-After asks", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      yield* registry.putManifest("team/app", "v1", { mediaType: MediaType.ociIndex, bytes: "{}" })
      failTimes(registry, 1, 429, { "retry-after": "30" })
      const fiber = yield* Effect.fork(client.getManifest(app, "v1"))
      yield* TestClock.adjust("20 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      expect(registry.requests()).toHaveLength(1)
      yield* TestClock.adjust("15 seconds")
      yield* Fiber.join(fiber)
      expect(registry.requests()).toHaveLength(2)
    }).pipe(provide())
  )

  it.effect("gives up after the attempts: rate-limited for 429, unavailable for 5xx; other 4xx are not retried", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      failTimes(registry, 100, 429)
      const limited = yield* failureOf(withClock(client.getManifest(app, "v1")))
      expect([limited.reason, limited.error.status, limited.error.code]).toEqual(["rate-limited", 429, "BUSY"])
      expect(registry.requests()).toHaveLength(3)
      failTimes(registry, 100, 502)
      const down = yield* failureOf(withClock(client.getManifest(app, "v1")))
      expect([down.reason, down.error.status]).toEqual(["unavailable", 502])
      expect(registry.requests()).toHaveLength(6)
      failTimes(registry, 100, 400)
      const bad = yield* failureOf(withClock(client.getManifest(app, "v1")))
      expect([bad.reason, bad.error.status]).toEqual(["protocol", 400])
      expect(registry.requests()).toHaveLength(7)
    }).pipe(provide())
  )

  it.effect("broken connections are retried, then reported as unavailable", () =>
    Effect.gen(function* () {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* testing.MemoryRegistry
      yield* registry.putManifest("team/app", "v1", { mediaType: MediaType.ociIndex, bytes: "{}" })
      brokenConnections.left = 2
      yield* withClock(client.getManifest(app, "v1"))
      brokenConnections.left = 3
      const down = yield* failureOf(withClock(client.getManifest(app, "v1")))
      expect([down.reason, down.error.status, down.error.detail]).toEqual([
        "unavailable",
        undefined,
        "the connection failed (ECONNRESET)"
      ])
      expect(down.error.request).toBe("GET https://registry.test/v2/team/app/manifests/v1")
    }).pipe(
      Effect.provide(
        RegistryClient.layer({ retry: fastRetries }).pipe(
          Layer.provideMerge(Layer.mergeAll(breakingClient, Credentials.layerStatic(), Hasher.layerWebCrypto))
        )
      )
    )
  )
})

const brokenConnections = { left: 0 }

/** The in-memory registry behind connections that fail while `brokenConnections.left` says so. */
const breakingClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (inner) =>
    HttpClient.make((request) =>
      brokenConnections.left-- > 0
        ? Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
            })
          )
        : inner.execute(request)
    )
  )
).pipe(Layer.provideMerge(testing.layerRegistry()))

describe("RegistryClient redirects", () => {
  it.effect("follows a blob's redirect to another origin without the Authorization header", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const digest = yield* registry.putBlob("team/app", "stored elsewhere")
      const seenByStorage: Array<string | undefined> = []
      registry.intercept((request) => {
        const url = new URL(request.url)
        if (url.host === "storage.example") {
          seenByStorage.push(request.headers.authorization)
          return new Response("stored elsewhere")
        }
        if (request.method === "GET" && url.pathname.includes("/blobs/") && url.searchParams.get("hop") === null) {
          // First to the same origin (the header stays), then to storage (it goes).
          return new Response(null, { status: 307, headers: { location: `${url.pathname}?hop=1` } })
        }
        if (url.searchParams.get("hop") === "1") {
          expect(request.headers.authorization).toBe(`Basic ${btoa(`ci:${password}`)}`)
          return new Response(null, { status: 302, headers: { location: "https://storage.example/blob?sig=abc" } })
        }
        return undefined
      })
      yield* client.ping("registry.test")
      expect(yield* collect(client.getBlob(app, { digest, size: 16 }))).toBe("stored elsewhere")
      expect(seenByStorage).toEqual([undefined])
    }).pipe(provide({ auth: basicAuth, credentials }))
  )

  it.effect("a ping answered 404 is not a registry: protocol, not not-found", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      registry.intercept(() => new Response("<html>", { status: 404 }))
      const failure = yield* failureOf(client.ping("registry.test"))
      expect([failure.reason, failure.error.status]).toEqual(["protocol", 404])
    }).pipe(provide())
  )

  it.effect("stops after 5 redirects with a protocol error", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      let hops = 0
      registry.intercept(() => new Response(null, { status: 308, headers: { location: `/v2/loop/${hops++}` } }))
      const failure = yield* failureOf(client.ping("registry.test"))
      expect(failure.reason).toBe("protocol")
      expect(hops).toBe(6)
    }).pipe(provide())
  )
})

describe("RegistryClient downloads that break", () => {
  const content = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 256)
  const descriptor = { digest: sha256(content), size: content.length }

  /** A response that sends the first `bytes` of the blob and then breaks. */
  const breaking = (bytes: number) =>
    new Response(
      new ReadableStream({
        start: (controller) => {
          if (bytes > 0) controller.enqueue(content.slice(0, bytes))
        },
        // Once what was sent is read: an error at once would drop the queued bytes unread.
        pull: (controller) => controller.error(new Error("ECONNRESET"))
      }),
      { status: 200 }
    )

  it.effect("resumes with a Range request where the connection broke, verifying the whole", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      yield* registry.putBlob("team/app", content)
      let breaks = 2
      registry.intercept((request) =>
        request.method === "GET" && request.url.includes("/blobs/") && breaks-- > 0
          ? breaking(request.headers.range === undefined ? 1_000_000 : 500_000)
          : undefined
      )
      const received = yield* withClock(Stream.runCollect(client.getBlob(app, descriptor)))
      expect(sha256(concat(Chunk.toReadonlyArray(received)))).toBe(descriptor.digest)
      const ranges = registry.requests().map((request) => request.headers.range)
      expect(ranges).toEqual([undefined, "bytes=1000000-", "bytes=1000000-"])
    }).pipe(provide())
  )

  it.effect("a registry that ignores Range sends it all again: the part already passed on is skipped", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      let breaks = 1
      registry.intercept((request) =>
        request.method === "GET" && request.url.includes("/blobs/")
          ? breaks-- > 0
            ? breaking(1_234_567)
            : new Response(content, { status: 200 })
          : undefined
      )
      const received = yield* withClock(Stream.runCollect(client.getBlob(app, descriptor)))
      const all = concat(Chunk.toReadonlyArray(received))
      expect(all.length).toBe(content.length)
      expect(sha256(all)).toBe(descriptor.digest)
    }).pipe(provide())
  )

  it.effect("a connection that keeps breaking without progress is unavailable", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      registry.intercept((request) =>
        request.method === "GET" && request.url.includes("/blobs/") ? breaking(0) : undefined
      )
      const failure = yield* failureOf(withClock(Stream.runDrain(client.getBlob(app, descriptor))))
      expect(failure.reason).toBe("unavailable")
      expect(registry.requests()).toHaveLength(3)
    }).pipe(provide())
  )
})

describe("RegistryClient hardening", () => {
  it.effect("an upload that fails transiently starts over in a new session, pulling the content again", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const descriptor = { digest: sha256("retried"), size: 7 }
      let pulls = 0
      let failures = 1
      registry.intercept((request) =>
        request.method === "PUT" && failures-- > 0 ? new Response("busy", { status: 503 }) : undefined
      )
      const outcome = yield* withClock(
        client.uploadBlob(app, descriptor, () =>
          Stream.suspend(() => {
            pulls++
            return Stream.make(bytesOf("retried"))
          })
        )
      )
      expect(outcome).toBe("uploaded")
      expect(pulls).toBe(2)
      expect(registry.requests().filter((request) => request.method === "POST")).toHaveLength(2)
      expect(registry.stats().uploads).toBe(1)
    }).pipe(provide())
  )

  it.effect("a registry that refuses the whole blob in one PUT (416) gets it in PATCH chunks", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const descriptor = { digest: sha256("in chunks"), size: 9 }
      let refused = 1
      registry.intercept((request) =>
        request.method === "PUT" && request.url.includes("/blobs/uploads/") && refused-- > 0
          ? new Response(null, { status: 416 })
          : undefined
      )
      expect(yield* client.uploadBlob(app, descriptor, () => Stream.make(bytesOf("in chunks")))).toBe("uploaded")
      expect(registry.requests().map((request) => request.method)).toEqual([
        "HEAD",
        "POST",
        "PUT",
        "POST",
        "PATCH",
        "PUT"
      ])
      expect(decoder.decode(registry.blob("team/app", descriptor.digest))).toBe("in chunks")
    }).pipe(provide())
  )

  it.effect("an error names the request without the upload's signed state", () =>
    Effect.gen(function* () {
      const { client } = yield* clientAndRegistry
      const descriptor = { digest: sha256("abc"), size: 3 }
      const failure = yield* Effect.flip(client.uploadBlob(app, descriptor, () => Stream.make(bytesOf("abd"))))
      expect(failure).toMatchObject({ reason: "digest-mismatch", status: 400 })
      const request = failure._tag === "RegistryError" ? failure.request : undefined
      expect(request).toMatch(/^PUT https:\/\/registry\.test\/v2\/team\/app\/blobs\/uploads\/upload-\d+\?digest=sha256/)
      expect(request).not.toContain("_state")
    }).pipe(provide())
  )

  it.effect("blobs sent in parallel share one token", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const contents = ["one", "two", "three", "four"]
      yield* Effect.forEach(
        contents,
        (text) => client.uploadBlob(app, { digest: sha256(text), size: text.length }, () => Stream.make(bytesOf(text))),
        { concurrency: 4 }
      )
      expect(registry.stats()).toMatchObject({ uploads: 4, tokens: 1 })
    }).pipe(provide({ auth: { ...basicAuth, scheme: "bearer" }, credentials }))
  )

  it.effect("a download that goes quiet is resumed", () =>
    Effect.gen(function* () {
      const { client, registry } = yield* clientAndRegistry
      const digest = yield* registry.putBlob("team/app", "quiet then fine")
      let quiet = 1
      registry.intercept((request) =>
        request.method === "GET" && request.url.includes("/blobs/") && quiet-- > 0
          ? new Response(new ReadableStream({ pull: () => new Promise(() => {}) }))
          : undefined
      )
      expect(yield* withClock(collect(client.getBlob(app, { digest, size: 15 })))).toBe("quiet then fine")
    }).pipe(provide())
  )

  it.effect("an --insecure registry is spoken to in plain http when https cannot connect; others are not", () =>
    Effect.gen(function* () {
      const insecure = yield* Effect.provide(
        RegistryClient.RegistryClient,
        RegistryClient.layer({ insecure: ["registry.test"], retry: fastRetries }).pipe(Layer.provide(httpsRefused))
      )
      yield* insecure.ping("registry.test")
      yield* insecure.ping("registry.test")
      const strict = yield* Effect.provide(
        RegistryClient.RegistryClient,
        RegistryClient.layer({ retry: fastRetries }).pipe(Layer.provide(httpsRefused))
      )
      const failure = yield* failureOf(withClock(strict.ping("registry.test")))
      expect(failure.reason).toBe("unavailable")
      expect(seenSchemes).toEqual(["https:", "http:", "http:", "https:", "https:", "https:"])
    })
  )

  it.effect("a certificate that cannot be verified is not retried, and the error says what to pass", () =>
    Effect.gen(function* () {
      const attempts: Array<string> = []
      const tlsRefused = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request, url) => {
          attempts.push(url.protocol)
          return Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" })
            })
          )
        })
      )
      const client = yield* Effect.provide(
        RegistryClient.RegistryClient,
        RegistryClient.layer({ retry: fastRetries }).pipe(
          Layer.provide(Layer.mergeAll(tlsRefused, Credentials.layerStatic(), Hasher.layerWebCrypto))
        )
      )
      const failure = yield* failureOf(withClock(client.ping("registry.test")))
      expect(failure.reason).toBe("unavailable")
      expect(failure.error.tls).toBe(true)
      expect(failure.error.detail).toContain("TLS handshake failed")
      // Library terms only: the CLI's flags are the CLI's to name.
      expect(failure.error.message).not.toContain("--")
      expect(attempts).toEqual(["https:"])
    })
  )

  it.effect("a registry that never answers is retried, then unavailable", () =>
    Effect.gen(function* () {
      const silent = yield* Effect.provide(
        RegistryClient.RegistryClient,
        RegistryClient.layer({ retry: fastRetries, timeout: "30 seconds" }).pipe(
          Layer.provide(
            Layer.mergeAll(
              Layer.succeed(
                HttpClient.HttpClient,
                HttpClient.make(() => Effect.never)
              ),
              Credentials.layerStatic(),
              Hasher.layerWebCrypto
            )
          )
        )
      )
      const failure = yield* failureOf(withClock(silent.ping("registry.test")))
      expect([failure.reason, failure.error.detail]).toEqual(["unavailable", "the connection failed (ETIMEDOUT)"])
    })
  )
})

const seenSchemes: Array<string> = []

/** The in-memory registry, where https connections are refused. */
const httpsRefused = Layer.mergeAll(
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (inner) =>
      HttpClient.make((request, url) => {
        seenSchemes.push(url.protocol)
        return url.protocol === "https:"
          ? Effect.fail(
              new HttpClientError.RequestError({
                request,
                reason: "Transport",
                cause: Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" })
              })
            )
          : inner.execute(request)
      })
    )
  ).pipe(Layer.provide(testing.layerRegistry())),
  Credentials.layerStatic(),
  Hasher.layerWebCrypto
)
