import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { isValidTag, tagAndRead } from "../../../examples/library.js"

describe("README library example (examples/library.ts)", () => {
  it.live("tags a manifest under a tag and a full name on a real disk and reads both back", () =>
    Effect.gen(function* () {
      const directory = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ocidx-example-")))
      const result = yield* tagAndRead(directory).pipe(
        Effect.ensuring(Effect.promise(() => fs.rm(directory, { recursive: true, force: true })))
      )
      expect(result.count).toBe(2)
      expect(result.byTag?.annotations?.["org.opencontainers.image.ref.name"]).toBe("v1")
      expect(result.byName?.annotations).toEqual({
        "io.containerd.image.name": "registry.example.com/team/app:1.0",
        "org.opencontainers.image.ref.name": "1.0"
      })
    })
  )

  it("validates tags without Effect", () => {
    expect(isValidTag("v1.2")).toBe(true)
    expect(isValidTag("-bad")).toBe(false)
  })
})
