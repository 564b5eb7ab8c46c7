/**
 * `ocidx copy` between layouts on the real disk, from the built bundle: the JSON result, the summary line,
 * a dry run that changes no byte, platform narrowing, and the usage errors (exit 2) and lookups (exit 1)
 * that need no registry. The registry paths are tested against a real registry in registry*.test.ts.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { ocidx, ocidxExpect } from "./support/cli.js"
import {
  blobPath,
  indexType,
  readIndex,
  sha256,
  snapshot,
  tagged,
  writeBlob,
  writeImage,
  writeLayout,
  writeTaggedImage
} from "./support/layout.js"

/** A layout at `dir` with a two-platform index tagged `multi`. */
const writeMultiArch = (dir: string) => {
  const amd64 = writeImage(dir, "amd64")
  const arm64 = writeImage(dir, "arm64")
  const index = writeBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [
        { ...amd64.manifest, platform: { architecture: "amd64", os: "linux" } },
        { ...arm64.manifest, platform: { architecture: "arm64", os: "linux" } }
      ]
    }),
    indexType
  )
  writeLayout(dir, [tagged(index, "multi")])
  return { amd64, arm64, index }
}

const digestsOf = (list: ReadonlyArray<{ readonly digest: string }>) => list.map((d) => d.digest).sort()

describe.concurrent("ocidx copy between layouts", () => {
  it.scopedLive("--json: the manifest, what was copied and skipped, and the bytes; the copy is tagged", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const src = NodePath.join(dir, "src")
      const dst = NodePath.join(dir, "dst")
      const image = writeTaggedImage(src)
      const { stdout, stderr } = yield* ocidxExpect(0, ["copy", `oci:${src}:v1`, `oci:${dst}:copied`, "--json"])
      expect(stderr).toBe("")
      const result = JSON.parse(stdout)
      expect(Object.keys(result)).toEqual(["manifest", "copied", "skipped", "bytes"])
      expect(result.manifest).toEqual({ ...image.manifest, platform: { architecture: "amd64", os: "linux" } })
      expect(digestsOf(result.copied)).toEqual(digestsOf([image.manifest, image.config, image.layer]))
      expect(result.skipped).toEqual([])
      expect(result.bytes).toBe(image.manifest.size + image.config.size + image.layer.size)
      for (const blob of [image.manifest, image.config, image.layer]) {
        expect(NodeFs.readFileSync(blobPath(dst, blob.digest))).toEqual(NodeFs.readFileSync(blobPath(src, blob.digest)))
      }
      expect(readIndex(dst).manifests).toEqual([
        tagged(image.manifest, "copied", { platform: { architecture: "amd64", os: "linux" } })
      ])
      yield* ocidxExpect(0, ["verify", dst])

      const again = yield* ocidxExpect(0, ["copy", `oci:${src}:v1`, `oci:${dst}:copied`])
      expect(again.stdout).toBe(`copied 0 blobs (0 B), skipped 3; ${image.manifest.digest}\n`)
    })
  )

  it.scopedLive("--dry-run says what would move and changes no byte", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const src = NodePath.join(dir, "src")
      const dst = NodePath.join(dir, "dst")
      const image = writeTaggedImage(src)
      writeLayout(dst)
      const before = snapshot(dst)
      const beforeSrc = snapshot(src)
      const { stdout } = yield* ocidxExpect(0, ["copy", `oci:${src}:v1`, `oci:${dst}:v1`, "--dry-run"])
      const bytes = image.manifest.size + image.config.size + image.layer.size
      expect(stdout).toBe(`would copy 3 blobs (${bytes} B), skip 0; ${image.manifest.digest}\n`)
      expect(snapshot(dst)).toEqual(before)
      expect(snapshot(src)).toEqual(beforeSrc)
      // Into a directory that does not exist: nothing is created.
      yield* ocidxExpect(0, ["copy", `oci:${src}:v1`, `oci:${dir}/new`, "--dry-run", "--json"])
      expect(NodeFs.existsSync(NodePath.join(dir, "new"))).toBe(false)
    })
  )

  it.scopedLive("--platform: one gives that manifest; two give a new index of just those", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const src = NodePath.join(dir, "src")
      const { amd64, arm64, index } = writeMultiArch(src)
      const one = NodePath.join(dir, "one")
      const single = yield* ocidxExpect(0, [
        "copy",
        `oci:${src}:multi`,
        `oci:${one}:arm`,
        "--platform",
        "linux/arm64",
        "--json"
      ])
      expect(JSON.parse(single.stdout).manifest.digest).toBe(arm64.manifest.digest)
      expect(readIndex(one).manifests.map((entry) => entry.digest)).toEqual([arm64.manifest.digest])
      expect(NodeFs.existsSync(blobPath(one, amd64.layer.digest))).toBe(false)
      expect(NodeFs.existsSync(blobPath(one, index.digest))).toBe(false)

      const two = NodePath.join(dir, "two")
      const both = JSON.parse(
        (yield* ocidxExpect(0, [
          "copy",
          `oci:${src}:multi`,
          `oci:${two}:both`,
          "--platform",
          "linux/amd64",
          "--platform",
          "linux/arm64",
          "--json"
        ])).stdout
      )
      // Both of its platforms, in its order: the narrowed index is the original, byte for byte.
      expect(both.manifest.digest).toBe(index.digest)
      const written = NodeFs.readFileSync(blobPath(two, both.manifest.digest))
      expect(sha256(written)).toBe(both.manifest.digest)
      expect(JSON.parse(written.toString()).manifests.map((m: { digest: string }) => m.digest)).toEqual([
        amd64.manifest.digest,
        arm64.manifest.digest
      ])
      yield* ocidxExpect(0, ["verify", two, "--strict"])

      const none = yield* ocidxExpect(1, ["copy", `oci:${src}:multi`, `oci:${dir}/none`, "--platform", "linux/s390x"])
      expect(none.stderr).toBe(
        `ocidx: oci:${src}: the index ${index.digest} has no manifest for linux/s390x (it has linux/amd64, linux/arm64).\n`
      )
      expect(NodeFs.existsSync(NodePath.join(dir, "none"))).toBe(false)
    })
  )

  it.scopedLive("usage errors exit 2; a name that is not there exits 1; a bad reference 65", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const src = NodePath.join(dir, "src")
      writeTaggedImage(src)
      const before = snapshot(src)
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number, string]> = [
        [["copy", src, `oci:${dir}/x`], 2, `ocidx: source "${src}" names no transport`],
        [["copy", `oci:${src}:v1`, `tar:${dir}/x`], 2, `ocidx: destination "tar:${dir}/x" names no transport`],
        [["copy", `oci-archive:${dir}/a.tar`, `oci:${dir}/x`], 74, `${dir}/a.tar`],
        [["copy", `oci:${src}:v1`, `oci:${dir}/x`, "--jobs", "0"], 2, "--jobs: 0 is not a number of blobs at once"],
        [["copy", `oci:${src}:v1`, `oci:${dir}/x`, "--jobs", "many"], 2, "many"],
        [["copy", `oci:${src}:v1`, `oci:${dir}/x`, "--platform", "linux"], 2, "--platform"],
        [["copy", `oci:${src}:v1`], 2, ""],
        [["copy", `oci:${src}:nope`, `oci:${dir}/x`], 1, `ocidx: oci:${src}: no entry is named "nope".`],
        [["copy", `oci:${src}:v1`, `oci:${dir}/x:bad tag`], 65, 'ocidx: invalid reference "bad tag"'],
        [["copy", `oci:${src}:v1`, "docker://Registry.test/UPPER"], 65, "the repository name must be lowercase"],
        [["push", `${src}:v1`, "Registry.test/UPPER"], 65, "the repository name must be lowercase"]
      ]
      for (const [args, code, message] of cases) {
        const result = yield* ocidx(args)
        expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(code)
        expect(result.stderr).toContain(message)
        expect(result.stdout).toBe("")
      }
      expect(snapshot(src)).toEqual(before)
      expect(NodeFs.existsSync(NodePath.join(dir, "x"))).toBe(false)
    })
  )
})
