/** The library example of image archives (examples/archive.ts), as docs/library.md shows it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { roundTrip } from "../../../examples/archive.js"

describe("the archive example (examples/archive.ts)", () => {
  it.effect("writes an archive, reads it back under its names, and refuses junk", () =>
    Effect.gen(function* () {
      const { blobs, imported, names, refused } = yield* roundTrip
      expect(blobs).toBe(3)
      expect(imported).toHaveLength(1)
      expect(names).toEqual([{ "org.opencontainers.image.ref.name": "v1" }])
      expect(refused).toBe("truncated")
    })
  )
})
