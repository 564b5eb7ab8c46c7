/**
 * The portable `LayoutFiles` on the in-memory file system passes the conformance suite every implementation
 * passes (packages/node/test/LayoutFiles.test.ts runs it on the real disk, and the node:fs one).
 */
import { FileSystem, Path } from "@effect/platform"
import * as Hasher from "@ocidx/core/Hasher"
import * as LayoutFiles from "@ocidx/core/LayoutFiles"
import * as testing from "@ocidx/core/testing"
import { register } from "@ocidx/testkit/LayoutFilesConformance"
import { Effect, Layer } from "effect"

register("portable, in memory", {
  layer: () =>
    LayoutFiles.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(testing.layerMemoryFileSystem, Path.layer, Hasher.layerWebCrypto))
    ),
  directory: Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.as(Effect.orDie(fs.makeDirectory("/work", { recursive: true })), "/work")
  )
})
