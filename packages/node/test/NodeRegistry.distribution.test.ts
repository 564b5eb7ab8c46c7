import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import * as Digest from "@ocidx/core/Digest"
import type { RegistryError } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as Registry from "@ocidx/testkit/Registry"
import { Cause, Chunk, Effect, Layer, Option, Stream } from "effect"
import * as NodeRegistry from "../src/NodeRegistry.js"

const sha256 = (bytes: Uint8Array | string): Digest.Digest =>
  Option.getOrThrow(Digest.parse(`sha256:${createHash("sha256").update(bytes).digest("hex")}`))

const encoder = new TextEncoder()

const clientFor = (registry: Registry.Registry, password = registry.password) =>
  Effect.provide(
    RegistryClient.RegistryClient,
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
