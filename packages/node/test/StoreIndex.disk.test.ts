/**
 * StoreIndex on the real disk, for what only a real file system can show.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs/promises"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import { Duration, Effect } from "effect"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(NodePath.join(NodeOs.tmpdir(), "ocidx-disk-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

describe("StoreIndex on the real disk", () => {
  it.scopedLive("refuses a FIFO at index.json at once, for reads and writes, instead of blocking for good", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      ChildProcess.execFileSync("mkfifo", [NodePath.join(dir, "index.json")])
      const store = yield* StoreIndex.make({ directory: dir })
      const [readTime, readError] = yield* Effect.timed(Effect.flip(store.read))
      expect(readError).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
      const writeError = yield* Effect.flip(store.remove(["v1"]))
      expect(writeError).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
      expect(Duration.toMillis(readTime)).toBeLessThan(2_000)
    }).pipe(
      Effect.provide(NodeServices.layer()),
      Effect.provideService(IndexLock.CurrentLockTimeout, Duration.seconds(2))
    )
  )
})
