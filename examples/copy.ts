/**
 * Moving images with the copy engine, offline: an image built in a layout is pushed to the in-memory registry
 * of `@ocidx/core/testing`, then pulled back into another layout. On Node the same program runs on the real
 * disk and network with `NodeServices.layer()` and `@ocidx/node`'s registry layer in place of the test
 * layers. `packages/core/test/Copy.example.test.ts` runs it.
 */
import { Copy, Layout, MediaType, Reference, testing } from "@ocidx/core"
import { Effect, Layer } from "effect"

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

// An image in a layout: a layer, a config and the manifest naming them, tagged v1.
const build = (directory: string) =>
  Effect.gen(function* () {
    const layout = yield* Layout.make({ directory })
    yield* layout.init
    const layer = yield* layout.blobs.put(new TextEncoder().encode("hello\n"))
    const config = yield* layout.blobs.put(
      json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } })
    )
    const manifest = yield* layout.blobs.put(
      json({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...config },
        layers: [{ mediaType: MediaType.ociLayerTar, ...layer }]
      })
    )
    yield* layout.index.put({ mediaType: MediaType.ociManifest, ...manifest }, [yield* Reference.tag("v1")])
  })

// Locations are written as skopeo writes them; a copy reports what arrived and what moved.
const copy = (from: string, to: string) =>
  Effect.gen(function* () {
    const result = yield* Copy.copy(yield* Copy.parseLocation(from), yield* Copy.parseLocation(to))
    return `${to}: ${result.manifest.digest}, ${result.copied.length} copied, ${result.skipped.length} skipped`
  })

export const pushAndPull = Effect.gen(function* () {
  yield* build("/build")
  const pushed = yield* copy("oci:/build:v1", "docker://registry.example.com/team/app:v1")
  // Pulled without a tag, the image keeps its full name, as buildkit names a pulled image.
  const pulled = yield* copy("docker://registry.example.com/team/app:v1", "oci:/pulled")
  const names = yield* Effect.flatMap(Layout.make({ directory: "/pulled" }), (layout) => layout.index.list)
  return { pushed, pulled, names: names.map((entry) => entry.annotations) }
}).pipe(
  // Every failure is typed: a refused login is not a missing tag.
  Effect.catchTags({
    RegistryError: (error) => Effect.fail(`${error.reason}: ${error.message}`),
    ImageNotFound: (error) => Effect.fail(error.message)
  }),
  Effect.provide(Layer.merge(testing.layer(), testing.layerRegistryClient()))
)
