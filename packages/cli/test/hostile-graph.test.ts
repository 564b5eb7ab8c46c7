/**
 * The graph walk end to end: nested indexes that claim a cycle, a chain nested far deeper than ocidx reads,
 * and two index.json entries that share a digest. Exact exit codes, verify's verdict, and every file of the
 * layout byte for byte as it was.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { ocidx } from "./support/cli.js"
import { indexType, snapshot, tagged, writeBlob, writeImage, writeLayout } from "./support/layout.js"

// Each case runs the CLI several times; on a loaded machine a start can take seconds.
const timeout = 180_000

const amd64 = { os: "linux", architecture: "amd64" }

/** No stack trace, no internal error, and one `ocidx:` line. */
const expectClean = (result: { readonly code: number | null; readonly stderr: string }, label: string) => {
  expect(result.code, label).not.toBe(70)
  expect(result.stderr, label).not.toMatch(/\n\s+at /)
  expect(result.stderr.trimEnd().split("\n"), label).toHaveLength(1)
}

const indexText = (child: string, size: number) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: indexType,
    manifests: [{ mediaType: indexType, digest: child, size, platform: amd64 }]
  })

/**
 * Two nested indexes that list each other, stored under sha1 digests (an algorithm ocidx cannot compute, so
 * reading does not catch that the names lie). Returns the entry for the first, and both digests.
 */
const writeRing = (dir: string) => {
  const [a, b] = [`sha1:${"a".repeat(40)}`, `sha1:${"b".repeat(40)}`]
  // Both texts have the same length (the digests differ only in one repeated letter).
  const size = indexText(b, 100).length
  NodeFs.mkdirSync(NodePath.join(dir, "blobs", "sha1"), { recursive: true })
  NodeFs.writeFileSync(NodePath.join(dir, "blobs", "sha1", "a".repeat(40)), indexText(b, size))
  NodeFs.writeFileSync(NodePath.join(dir, "blobs", "sha1", "b".repeat(40)), indexText(a, size))
  return { entry: { mediaType: indexType, digest: a, size }, a, b }
}

describe.concurrent("hostile graphs through the CLI", () => {
  it.scopedLive(
    "nested indexes in a cycle: get and cat --platform exit 65 naming it, verify reports index-cycle",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const ring = writeRing(dir)
        writeLayout(dir, [tagged(ring.entry, "loop")])
        const before = snapshot(dir)
        for (const command of ["get", "cat"]) {
          const args = [command, dir, "loop", "--platform", "linux/amd64"]
          const result = yield* ocidx(args)
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expect(result.code, label).toBe(65)
          expectClean(result, label)
          expect(result.stdout, label).toBe("")
          expect(result.stderr, label).toContain("form a cycle")
          expect(result.stderr, label).toContain(`index.json → ${ring.a} → ${ring.b} → ${ring.a}`)
        }
        const verify = yield* ocidx(["verify", dir, "--json"])
        expect(verify.code, verify.stderr).toBe(1)
        const report: { ok: boolean; findings: Array<{ code: string; severity: string }> } = JSON.parse(verify.stdout)
        expect(report.ok).toBe(false)
        expect(report.findings.filter((f) => f.code === "index-cycle")).toEqual([
          expect.objectContaining({ severity: "error" })
        ])
        // The set of live blobs is whole despite the cycle: gc keeps both and succeeds.
        const gc = yield* ocidx(["gc", dir])
        expect(gc.code, gc.stderr).toBe(0)
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a chain of 5,000 nested indexes: get/cat exit 65 too deep, verify reports index-too-deep, gc refuses",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeLayout(dir)
        const image = writeImage(dir)
        let top = { ...image.manifest, platform: amd64 }
        for (let i = 1; i < 5000; i++) {
          const child = writeBlob(
            dir,
            JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: [top] }),
            indexType
          )
          top = { ...child, platform: amd64 }
        }
        writeLayout(dir, [tagged(top, "deep")])
        const before = snapshot(dir)
        for (const command of ["get", "cat"]) {
          const args = [command, dir, "deep", "--platform", "linux/amd64"]
          const result = yield* ocidx(args)
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expect(result.code, label).toBe(65)
          expectClean(result, label)
          expect(result.stdout, label).toBe("")
          expect(result.stderr, label).toContain("nest more than 64 levels deep")
          // get and cat have no --force, and gc's is no answer to them.
          expect(result.stderr, label).not.toContain("--force")
        }
        const sizes = yield* ocidx(["ls", dir, "--sizes"])
        expect(sizes.code, sizes.stderr).toBe(65)
        expect(sizes.stderr).not.toContain("--force")
        const verify = yield* ocidx(["verify", dir, "--json"])
        expect(verify.code, verify.stderr).toBe(1)
        const report: { findings: Array<{ code: string; severity: string }> } = JSON.parse(verify.stdout)
        expect(report.findings.filter((f) => f.severity === "error").map((f) => f.code)).toEqual(["index-too-deep"])
        const gc = yield* ocidx(["gc", dir])
        expect(gc.code, gc.stderr).toBe(65)
        expectClean(gc, gc.stderr)
        expect(gc.stderr).toMatch(/ Pass --force to collect anyway\.\n$/)
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "two entries share a digest with other media types: get by name descends the entry it names",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeLayout(dir)
        const amd = writeImage(dir, "amd64")
        const arm = writeImage(dir, "arm64")
        const multi = writeBlob(
          dir,
          JSON.stringify({
            schemaVersion: 2,
            mediaType: indexType,
            manifests: [
              { ...amd.manifest, platform: amd64 },
              { ...arm.manifest, platform: { os: "linux", architecture: "arm64" } }
            ]
          }),
          indexType
        )
        // The first entry claims the index's digest is an arm64 manifest; "multi" is the index itself.
        const impostor = tagged({ ...multi, mediaType: amd.manifest.mediaType }, "other", {
          platform: { os: "linux", architecture: "arm64" }
        })
        writeLayout(dir, [impostor, tagged(multi, "multi")])
        const before = snapshot(dir)
        const result = yield* ocidx(["get", dir, "multi", "--platform", "linux/arm64"])
        expect(result.code, result.stderr).toBe(0)
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: arm.manifest.digest })
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )
})
