import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { nothingToPromote, promoted } from "../../../examples/testing.js"

describe("README testing example (examples/testing.ts)", () => {
  it.effect("a seeded layout: the program tags the image a second time", () =>
    Effect.gen(function* () {
      expect(yield* promoted).toEqual(["v1", "stable"])
    })
  )

  it.effect("an empty initialised layout: the program fails with its own error, not a ReadError", () =>
    Effect.gen(function* () {
      expect(yield* Effect.flip(nothingToPromote)).toBe("/layout has no entry named v1")
    })
  )
})
