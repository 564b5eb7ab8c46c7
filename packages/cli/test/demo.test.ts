/**
 * `npm run demo` (examples/demo.mjs) builds, with ocidx alone, an image the Go tools accept.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { run, runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath as skopeo, umociPath as umoci } from "@ocidx/testkit/Tools"
import { ocidxExpect, repoRoot } from "./support/cli.js"

const noSkopeo = missing(["skopeo", skopeo])
announceSkip("checking the demo's image with skopeo", noSkopeo)

const runDemo = (dir: string) =>
  run(process.execPath, [NodePath.join(repoRoot, "examples", "demo.mjs"), dir], { cwd: repoRoot })

describe("examples/demo.mjs", () => {
  it.scopedLive("builds a valid one-layer image from nothing, step by step, and exits 0", () =>
    Effect.gen(function* () {
      const dir = NodePath.join(yield* tempDir, "demo-layout")
      const demo = yield* runDemo(dir)
      expect(demo.code, demo.stderr).toBe(0)
      for (const step of ["== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== 7.", "$ ocidx verify"]) {
        expect(demo.stdout).toContain(step)
      }
      expect(demo.stdout).toContain(`${dir}: ok, 3 blobs`)
      expect(JSON.parse((yield* ocidxExpect(0, ["verify", dir, "--json", "--strict"])).stdout)).toEqual({
        ok: true,
        findings: []
      })
      const tags = JSON.parse((yield* ocidxExpect(0, ["ls", dir, "--json"])).stdout).map(
        (entry: { annotations: Record<string, string> }) => entry.annotations["org.opencontainers.image.ref.name"]
      )
      expect(tags).toEqual(["v1", "1.0"])

      if (noSkopeo === undefined) {
        const inspected = JSON.parse(yield* runOk(skopeo ?? "skopeo", ["inspect", `oci:${dir}:v1`]))
        expect(inspected).toMatchObject({ Architecture: "amd64", Os: "linux", Created: "2024-01-01T00:00:00Z" })
        expect(inspected.Layers).toHaveLength(1)
      }
      if (umoci !== undefined) {
        // umoci unpacks the layer: the tar made by the demo's ustar writer is a real one.
        const bundle = NodePath.join(NodePath.dirname(dir), "bundle")
        yield* runOk(umoci, ["unpack", "--image", `${dir}:v1`, bundle])
        expect(NodeFs.readFileSync(NodePath.join(bundle, "rootfs", "hello.txt"), "utf8")).toBe(
          "Hello from an image built by ocidx.\n"
        )
      }
    })
  )
})
