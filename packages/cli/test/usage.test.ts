/**
 * The README shows one task as a command and as an Effect program: both must do the same thing.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ocidxExpect } from "./support/cli.js"
import { tempDir } from "@ocidx/testkit/TempDir"
import { readIndex, snapshot, writeTaggedImage } from "./support/layout.js"
import { promote } from "./support/promote.js"

describe("README: one task, as a command and as a program", () => {
  it.scopedLive("tagging v1 as stable gives the same index either way", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const byCli = NodePath.join(root, "cli")
      const byProgram = NodePath.join(root, "program")
      writeTaggedImage(byCli)
      NodeFs.cpSync(byCli, byProgram, { recursive: true })

      const descriptor = (yield* ocidxExpect(0, ["get", byCli, "v1"])).stdout
      yield* ocidxExpect(0, ["put", byCli, "stable", "--descriptor", "-"], { input: descriptor })
      const tags = yield* promote(byProgram, "v1", "stable")

      expect(tags).toEqual(["v1", "stable"])
      expect(readIndex(byProgram)).toEqual(readIndex(byCli))
      expect(snapshot(byProgram)).toEqual(snapshot(byCli))
      expect(yield* Effect.flip(promote(byProgram, "nope", "x"))).toBe(
        `${byProgram}/index.json has no entry named nope`
      )
    })
  )
})
