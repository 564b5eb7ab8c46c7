import * as NodePath from "node:path"
import { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import { describe, expect, it } from "@effect/vitest"
import { CurrentDurability } from "@ocidx/core/Durability"
import * as Inflater from "@ocidx/core/Inflater"
import { CurrentLockTimeout, IndexLock } from "@ocidx/core/IndexLock"
import { Duration, Effect, Layer } from "effect"
import * as NodeInflater from "../src/NodeInflater.js"
import * as NodeServices from "../src/NodeServices.js"
import { canFlock, hasFlockCommand } from "@ocidx/testkit/Flock"
import { tempDir } from "@ocidx/testkit/TempDir"

describe("NodeServices", () => {
  it.scopedLive.skipIf(!hasFlockCommand)(
    "provides the real FileSystem and Path and the flock IndexLock (needs /usr/bin/flock)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const fs = yield* FileSystem
        const path = yield* Path
        const lock = yield* IndexLock
        const lockPath = path.join(dir, "index.json.lock")

        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* lock.acquire(lockPath, "exclusive")
            expect(yield* canFlock(lockPath, "shared")).toBe(false)
            yield* fs.writeFileString(path.join(dir, "index.json"), "{}")
          })
        )
        expect(yield* fs.readFileString(NodePath.join(dir, "index.json"))).toBe("{}")
        expect(yield* canFlock(lockPath, "exclusive")).toBe(true)
        expect(yield* CurrentDurability).toBe("full")
      }).pipe(Effect.provide(Layer.merge(NodeServices.layer(), Layer.succeed(CurrentLockTimeout, Duration.zero))))
  )

  it.effect("provides the node:zlib inflater in place of the portable default", () =>
    Effect.gen(function* () {
      const inflater = yield* Inflater.Inflater
      expect(inflater).not.toBe(Inflater.portable)
      expect(inflater).toBe(yield* Effect.provide(Inflater.Inflater, NodeInflater.layer))
    }).pipe(Effect.provide(NodeServices.layer()))
  )

  it.effect("sets the durability", () =>
    Effect.gen(function* () {
      expect(yield* CurrentDurability).toBe("none")
    }).pipe(Effect.provide(NodeServices.layer({ durability: "none" })))
  )
})
