/**
 * The `LayoutFiles` conformance suite on the real disk: core's portable implementation on NodeFileSystem, and
 * the synchronous node:fs one (with a FIFO, which only a real file system has).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeHasher from "@ocidx/node/NodeHasher"
import * as LayoutFiles from "@ocidx/core/LayoutFiles"
import * as NodeLayoutFiles from "@ocidx/node/NodeLayoutFiles"
import { register } from "@ocidx/testkit/LayoutFilesConformance"
import { runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect, Layer } from "effect"

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const makeFifo = (file: string) => Effect.orDie(Effect.asVoid(runOk("mkfifo", [file])))

register("portable, on NodeFileSystem", {
  layer: () => LayoutFiles.layer.pipe(Layer.provideMerge(Layer.merge(platform, NodeHasher.layer))),
  directory: tempDir,
  makeFifo,
  largeFiles: true
})

register("node:fs, synchronous", {
  layer: () => Layer.merge(NodeLayoutFiles.layer, platform),
  directory: tempDir,
  makeFifo,
  largeFiles: true
})
