import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import * as Digest from "@ocidx/core/Digest"
import type { RegistryError } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import * as FaultProxy from "@ocidx/testkit/FaultProxy"
import * as Registry from "@ocidx/testkit/Registry"
import { Cause, Chunk, Effect, Layer, Option, Stream } from "effect"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { clientOf } from "./support/registryClient.js"

const sha256 = (bytes: Uint8Array | string): Digest.Digest =>
  Option.getOrThrow(Digest.parse(`sha256:${createHash("sha256").update(bytes).digest("hex")}`))

const encoder = new TextEncoder()

const clientFor = (registry: Registry.Registry, password = registry.password) =>
  clientOf(
    NodeRegistry.layerWithoutCredentials({ retry: { attempts: 2, baseDelay: "10 millis" } }).pipe(
      Layer.provide(
        Credentials.layerStatic(
          registry.auth === "none"
            ? {}
            : { [registry.host]: { _tag: "Password", username: registry.username, password } }
        )
      )
    )
  )

const printed = (error: RegistryError) =>
  [error.message, String(error), JSON.stringify(error), Cause.pretty(Cause.fail(error))].join("\n")

describe.skipIf(Registry.unavailable !== undefined)("RegistryClient against distribution 2.8", () => {
  for (const auth of ["none", "htpasswd", "token"] as const) {
    it.scopedLive(`auth ${auth}: uploads, mounts, manifests, tags and referrers as the spec says`, () =>
      Effect.gen(function* () {
        const registry = yield* Registry.make({ auth })
        const client = yield* clientFor(registry)
        yield* client.ping(registry.host)
        const base = { registry: registry.host, repository: "e2e/base" }
        const app = { registry: registry.host, repository: "e2e/app" }
        const layer = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 13) % 256)
        const layerDescriptor = { digest: sha256(layer), size: layer.length }
        const config = encoder.encode("{}")
        const configDescriptor = { digest: sha256(config), size: config.length }
        const chunked = () => Stream.fromIterable([layer.subarray(0, 1_000_000), layer.subarray(1_000_000)])
        expect(yield* client.uploadBlob(base, layerDescriptor, chunked)).toBe("uploaded")
        expect(yield* client.uploadBlob(base, layerDescriptor, chunked)).toBe("present")
        expect(yield* client.uploadBlob(base, configDescriptor, () => Stream.make(config))).toBe("uploaded")
        expect(
          yield* client.uploadBlob(app, layerDescriptor, () => Stream.die("not read"), { mountFrom: "e2e/base" })
        ).toBe("mounted")
        expect(
          yield* client.uploadBlob(app, configDescriptor, () => Stream.make(config), { mountFrom: "e2e/base" })
        ).toBe("mounted")
        const empty = { digest: sha256(""), size: 0 }
        expect(yield* client.uploadBlob(app, empty, () => Stream.empty)).toBe("uploaded")
        const manifest = encoder.encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociManifest,
            config: { mediaType: MediaType.ociConfig, ...configDescriptor },
            layers: [{ mediaType: MediaType.ociLayerTar, ...layerDescriptor }]
          })
        )
        const digest = yield* client.putManifest(app, "v1", { mediaType: MediaType.ociManifest, bytes: manifest })
        expect(digest).toBe(sha256(manifest))
        yield* client.putManifest(app, "v2", { mediaType: MediaType.ociManifest, bytes: manifest })
        const got = yield* client.getManifest(app, "v1")
        expect(got.descriptor).toEqual({ mediaType: MediaType.ociManifest, digest, size: manifest.length })
        expect(yield* client.headManifest(app, "v2")).toEqual(Option.some(got.descriptor))
        expect(yield* client.headManifest(app, "v3")).toEqual(Option.none())
        expect([...(yield* client.listTags(app))].sort()).toEqual(["v1", "v2"])
        const blob = yield* Stream.runCollect(client.getBlob(app, layerDescriptor))
        expect(sha256(Buffer.concat(Chunk.toReadonlyArray(blob)))).toBe(layerDescriptor.digest)
        // distribution 2.8 has no referrers API: the tag schema answers, and there is none.
        expect(yield* client.referrers(app, digest)).toEqual([])
        const missing = yield* Effect.flip(client.getManifest(app, "nope"))
        expect([missing.reason, missing.status, missing.code]).toEqual(["not-found", 404, "MANIFEST_UNKNOWN"])
        if (auth !== "none") {
          const wrong = yield* clientFor(registry, "not-the-password")
          const refused = yield* Effect.flip(wrong.getManifest(app, "v1"))
          expect(refused.reason).toBe("unauthorized")
          expect(printed(refused)).not.toContain("not-the-password")
          expect(printed(refused)).not.toContain(registry.password)
        }
      })
    )
  }
})

describe.skipIf(Registry.unavailable !== undefined)("RegistryClient through a fault proxy", () => {
  it.scopedLive("rides out 429 with Retry-After, 503s, a reset mid-blob, a stalled body and a cross-origin 307", () =>
    Effect.gen(function* () {
      const registry = yield* Registry.make({ auth: "htpasswd" })
      const proxy = yield* FaultProxy.make(registry)
      const client = yield* clientOf(
        NodeRegistry.layerWithoutCredentials({
          retry: { attempts: 4, baseDelay: "10 millis" },
          timeout: "2 seconds"
        }).pipe(
          Layer.provide(
            Credentials.layerStatic({
              [proxy.host]: { _tag: "Password", username: registry.username, password: registry.password }
            })
          )
        )
      )
      const app = { registry: proxy.host, repository: "e2e/faults" }
      const layer = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 31) % 256)
      const descriptor = { digest: sha256(layer), size: layer.length }
      proxy.fault({
        method: "HEAD",
        path: FaultProxy.blobPath(descriptor.digest),
        times: 2,
        action: { kind: "status", status: 503 }
      })
      proxy.fault({
        method: "POST",
        path: "/blobs/uploads/",
        times: 1,
        action: { kind: "status", status: 429, retryAfter: 1 }
      })
      expect(yield* client.uploadBlob(app, descriptor, () => Stream.make(layer))).toBe("uploaded")
      const download = Effect.map(Stream.runCollect(client.getBlob(app, descriptor)), (chunks) =>
        sha256(Buffer.concat(Chunk.toReadonlyArray(chunks)))
      )
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(descriptor.digest),
        times: 1,
        action: { kind: "reset", afterBytes: 3_000_000 }
      })
      expect(yield* download).toBe(descriptor.digest)
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(descriptor.digest),
        times: 1,
        action: { kind: "stall", afterBytes: 1_000_000 }
      })
      expect(yield* download).toBe(descriptor.digest)
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(descriptor.digest),
        times: 1,
        action: { kind: "redirect" }
      })
      expect(yield* download).toBe(descriptor.digest)
      expect(proxy.origin.requests().length).toBeGreaterThan(0)
      expect(proxy.origin.requests().every((request) => !request.hadAuthorization)).toBe(true)
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(descriptor.digest),
        times: 1,
        action: { kind: "corrupt" }
      })
      const corrupt = yield* Effect.flip(download)
      expect(corrupt.reason).toBe("digest-mismatch")
      const resumed = proxy.requests().filter((request) => request.method === "GET" && request.path.includes("/blobs/"))
      expect(resumed.some((request) => request.fault === "reset")).toBe(true)
      proxy.fault({ path: "/v2/", action: { kind: "status", status: 503 } })
      const down = yield* Effect.flip(client.ping(proxy.host))
      expect([down.reason, down.status]).toEqual(["unavailable", 503])
    })
  )
})
