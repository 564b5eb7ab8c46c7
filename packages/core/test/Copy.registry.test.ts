/**
 * The copy engine with a registry at either end, on the in-memory registry of `@ocidx/core/testing`: push,
 * pull, registry to registry with cross-repository mounts, platform narrowing, and failures that tag nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Copy from "@ocidx/core/Copy"
import * as Layout from "@ocidx/core/Layout"
import * as testing from "@ocidx/core/testing"
import { Effect, Layer } from "effect"
import { blobPath, LayoutBuilder, multiArch, snapshot, writeLayout } from "./support/layouts.js"

const run = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provide(self, Layer.fresh(Layer.merge(testing.layer(), testing.layerRegistryClient())))

const layoutAt = (directory: string, reference?: string): Copy.Location => ({ _tag: "Layout", directory, reference })
const registryAt = (repository: string, tag?: string): Copy.Location => ({
  _tag: "Registry",
  reference: { registry: "registry.test", repository, tag }
})

const digests = (descriptors: ReadonlyArray<{ readonly digest: string }>) => descriptors.map((d) => d.digest).sort()

const entries = (directory: string) => Effect.flatMap(Layout.make({ directory }), (layout) => layout.index.list)

describe("Copy.copy with a registry", () => {
  it.effect("push a multi-arch index, pull it back: the same bytes, tagged with the full name", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, "/src")
        const registry = yield* testing.MemoryRegistry
        const pushed = yield* Copy.copy(layoutAt("/src", "multi"), registryAt("app", "v1"))
        expect(pushed.manifest.digest).toBe(image.index.digest)
        expect(registry.tags("app")).toEqual(["v1"])
        expect(registry.stats()).toMatchObject({ uploads: 11, mounts: 0 })
        expect(new TextDecoder().decode(registry.manifest("app", "v1")?.bytes)).toBe(
          new TextDecoder().decode(image.builder.blobs.get(image.index.digest))
        )

        const again = yield* Copy.copy(layoutAt("/src", "multi"), registryAt("app", "v1"))
        expect(again.copied).toEqual([])
        expect(registry.stats().uploads).toBe(11)

        const pulled = yield* Copy.copy(registryAt("app", "v1"), layoutAt("/out"))
        expect(digests(pulled.copied)).toEqual(digests(pushed.copied))
        const memory = yield* testing.MemoryFileSystem
        for (const descriptor of pushed.copied) {
          expect(memory.readText(blobPath(descriptor.digest, "/out"))).toBe(
            memory.readText(blobPath(descriptor.digest, "/src"))
          )
        }
        expect(yield* entries("/out")).toEqual([
          {
            mediaType: image.index.mediaType,
            digest: image.index.digest,
            size: image.index.size,
            annotations: {
              "io.containerd.image.name": "registry.test/app:v1",
              "org.opencontainers.image.ref.name": "v1"
            }
          }
        ])
        const report = yield* Effect.flatMap(Layout.make({ directory: "/out" }), (layout) =>
          layout.verify({ strict: true })
        )
        expect(report.ok).toBe(true)
      })
    )
  )

  it.effect("registry to registry, same registry: every blob is mounted, none uploaded", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["one", "two"] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, "/src")
        const registry = yield* testing.MemoryRegistry
        yield* Copy.copy(layoutAt("/src", "v1"), registryAt("from", "v1"))
        const uploads = registry.stats().uploads
        const events: Array<string> = []
        const result = yield* Copy.copy(registryAt("from", "v1"), registryAt("to", "v2"), {
          onProgress: (event) =>
            Effect.sync(() => {
              if (event._tag === "Finished") events.push(event.outcome)
            })
        })
        expect(registry.stats()).toMatchObject({ uploads, mounts: 3 })
        expect(events).toEqual(["mounted", "mounted", "mounted"])
        expect(result.bytes).toBe(image.manifest.size)
        expect(registry.tags("to")).toEqual(["v2"])
        expect(registry.manifest("to", "v2")?.bytes).toEqual(registry.manifest("from", "v1")?.bytes)
      })
    )
  )

  it.effect("pull one platform of an index: that manifest alone", () =>
    run(
      Effect.gen(function* () {
        const image = multiArch()
        yield* writeLayout(image.builder, "/src")
        yield* Copy.copy(layoutAt("/src", "multi"), registryAt("app", "v1"))
        const result = yield* Copy.copy(registryAt("app", "v1"), layoutAt("/out", "arm"), {
          platforms: [{ os: "linux", architecture: "arm", variant: "v7" }]
        })
        expect(result.manifest.digest).toBe(image.armv7.manifest.digest)
        expect(digests(result.copied)).toEqual(
          digests([image.armv7.manifest, image.armv7.config, ...image.armv7.layers])
        )
        expect((yield* entries("/out")).map((entry) => entry.digest)).toEqual([image.armv7.manifest.digest])
      })
    )
  )

  it.effect("a tag the registry does not have: RegistryError not-found, and no layout is made", () =>
    run(
      Effect.gen(function* () {
        const error = yield* Effect.flip(Copy.copy(registryAt("app", "nope"), layoutAt("/out", "v1")))
        expect(error._tag === "RegistryError" && error.reason).toBe("not-found")
        expect(snapshot(yield* testing.MemoryFileSystem, "/out")).toEqual({})
      })
    )
  )

  it.effect("a registry blob whose bytes are wrong: digest-mismatch, and no tag", () =>
    run(
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["right bytes"] })
        builder.add(image.manifest, ["v1"])
        yield* writeLayout(builder, "/src")
        yield* Copy.copy(layoutAt("/src", "v1"), registryAt("app", "v1"))
        const registry = yield* testing.MemoryRegistry
        const layer = image.layers[0]?.digest ?? ""
        registry.intercept((request) =>
          request.method === "GET" && request.url.endsWith(`/blobs/${layer}`)
            ? new Response("wrong bytes", { status: 200 })
            : undefined
        )
        const error = yield* Effect.flip(Copy.copy(registryAt("app", "v1"), layoutAt("/out", "v1")))
        expect(error._tag === "RegistryError" ? error.reason : error._tag).toBe("digest-mismatch")
        expect(yield* entries("/out")).toEqual([])
      })
    )
  )

  it.effect(
    "--referrers: a signature whose subject is the image is pushed with it, and pulled back as an untagged entry",
    () =>
      run(
        Effect.gen(function* () {
          const image = multiArch()
          yield* writeLayout(image.builder, "/src")
          const registry = yield* testing.MemoryRegistry
          yield* Copy.copy(layoutAt("/src", "single"), registryAt("app", "plain"))
          expect(registry.manifest("app", image.signature.digest)).toBeUndefined()
          const pushed = yield* Copy.copy(layoutAt("/src", "single"), registryAt("app", "signed"), { referrers: true })
          expect(digests(pushed.copied)).toContain(image.signature.digest)
          expect(registry.manifest("app", image.signature.digest)).toBeDefined()

          const pulled = yield* Copy.copy(registryAt("app", "signed"), layoutAt("/out"), { referrers: true })
          expect(digests(pulled.copied)).toContain(image.signature.digest)
          const listed = yield* entries("/out")
          expect(
            listed.map((entry) => [entry.digest, entry.annotations?.["org.opencontainers.image.ref.name"]])
          ).toEqual([
            [image.single.manifest.digest, "signed"],
            [image.signature.digest, undefined]
          ])
        })
      )
  )
})
