/**
 * StoreIndex on the real disk, for what only a real file system can show.
 */
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import { runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Duration, Effect } from "effect"

describe("StoreIndex on the real disk", () => {
  it.scopedLive("refuses a FIFO at index.json at once, for reads and writes, instead of blocking for good", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* runOk("mkfifo", [NodePath.join(dir, "index.json")])
      const store = yield* StoreIndex.make({ directory: dir })
      const [readTime, readError] = yield* Effect.timed(Effect.flip(store.read))
      expect(readError).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
      const writeError = yield* Effect.flip(store.remove(["v1"]))
      expect(writeError).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
      // Blocking in open(2) would last for good; the bound only tells "at once" from that, on any machine.
      expect(Duration.toMillis(readTime)).toBeLessThan(10_000)
    }).pipe(
      Effect.provide(NodeServices.layer()),
      Effect.provideService(IndexLock.CurrentLockTimeout, Duration.seconds(2))
    )
  )
})
