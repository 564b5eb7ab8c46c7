/**
 * Image archives with `Archive`, offline: an image built in a layout is written as an OCI archive (a stream
 * of tar bytes), read back into another layout, and a hostile archive is refused with a typed error. On Node
 * the same program reads and writes files with `NodeServices.layer()`; `Copy.copy` takes the same archives as
 * `oci-archive:<file>` and `docker-archive:<file>`. `packages/core/test/Archive.example.test.ts` runs it.
 */
import { Archive, Layout, MediaType, Reference, testing } from "@ocidx/core"
import { Chunk, Effect, Stream } from "effect"

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

export const roundTrip = Effect.gen(function* () {
  yield* build("/build")
  // The archive is a stream: pipe it to a file, a socket or, here, straight into `read`.
  const written = yield* Archive.write("/build", ["v1"])
  const bytes = yield* Stream.runCollect(written.archive)
  const read = yield* Archive.read(Stream.fromChunk(bytes), "build.tar", "/imported")
  const names = yield* Effect.flatMap(Layout.make({ directory: "/imported" }), (layout) => layout.index.list)

  // A few bytes are no whole tar: refused, nothing tagged. Each failure names the entry and says why.
  const refused = yield* Archive.read(
    Stream.make(new TextEncoder().encode("no tar here")),
    "junk.tar",
    "/imported"
  ).pipe(
    Effect.map(() => "accepted"),
    Effect.catchTag("ArchiveError", (error) => Effect.succeed(error.reason))
  )
  return {
    blobs: Chunk.size(bytes) > 0 ? written.blobs.length : 0,
    imported: read.images.map((image) => image.descriptor.digest),
    names: names.map((entry) => entry.annotations),
    refused
  }
}).pipe(Effect.provide(testing.layer()))
