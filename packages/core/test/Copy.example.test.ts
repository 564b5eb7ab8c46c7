/** The library example of moving images (examples/copy.ts), as docs/library.md shows it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { pushAndPull } from "../../../examples/copy.js"

describe("the copy example (examples/copy.ts)", () => {
  it.effect("pushes an image to the in-memory registry and pulls it back under its full name", () =>
    Effect.gen(function* () {
      const { pushed, pulled, names } = yield* pushAndPull
      const digest = /sha256:[0-9a-f]{64}/.exec(pushed)?.[0]
      expect(pushed).toBe(`docker://registry.example.com/team/app:v1: ${digest}, 3 copied, 0 skipped`)
      expect(pulled).toBe(`oci:/pulled: ${digest}, 3 copied, 0 skipped`)
      expect(names).toEqual([
        {
          "io.containerd.image.name": "registry.example.com/team/app:v1",
          "org.opencontainers.image.ref.name": "v1"
        }
      ])
    })
  )
})
