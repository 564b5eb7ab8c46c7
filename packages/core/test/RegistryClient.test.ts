import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import type { Credential } from "@ocidx/core/Credentials"
import * as Digest from "@ocidx/core/Digest"
import type { RegistryError } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as testing from "@ocidx/core/testing"
import { Chunk, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"

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
    readonly credentials?: Readonly<Record<string, Credential>>
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
      const { client } = yield* clientAndRegistry
      const text = `${manifestText(sha256("{}"), [])}\n`
      const bytes = bytesOf(text)
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
