/**
 * gc against what crashes and races leave (issue 10): a blob put before the tag that references it, a killed
 * put's temp file beside index.json, a blank index.json, and a dry run on a read-only layout. The built
 * bundle in a child process, on the real disk; every case checks the exit code and what is left on disk.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { readOnlyTmpfs, tmpfsUnavailable } from "@ocidx/testkit/ReadOnly"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { ocidx, ocidxExpect } from "./support/cli.js"
import {
  blobPath,
  manifestType,
  snapshot,
  tagged,
  writeImage,
  writeLayout,
  writeTaggedImage
} from "./support/layout.js"

const hourAgo = (hours: number) => new Date(Date.now() - hours * 60 * 60 * 1000)

/** Ages a file as if written `hours` ago. */
const age = (file: string, hours: number) => NodeFs.utimesSync(file, hourAgo(hours), hourAgo(hours))

const removedOf = (stdout: string): ReadonlyArray<string> =>
  JSON.parse(stdout)
    .removed.map((entry: { readonly digest: string }) => entry.digest)
    .sort()

describe.concurrent("gc and the grace period", () => {
  it.scopedLive("a blob put, then a gc, then the put that tags it: the blob is still there", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      const image = writeImage(dir, "arm64", "next")
      // The manifest arrives through ocidx, like any blob put before its tag.
      const put = yield* ocidxExpect(0, ["blob", "put", dir, "-", "--media-type", manifestType], {
        input: image.manifestBytes
      })
      expect(JSON.parse(put.stdout)).toMatchObject({ digest: image.manifest.digest })
      const before = snapshot(dir)
      const gc = yield* ocidxExpect(0, ["gc", dir])
      expect(gc.stdout).toBe(`${dir}: nothing to remove\n`)
      expect(snapshot(dir)).toEqual(before)
      yield* ocidxExpect(0, ["put", dir, "v2", "--digest", image.manifest.digest, "--size", `${image.manifest.size}`])
      const verify = yield* ocidxExpect(0, ["verify", dir])
      expect(verify.stdout).toMatch(new RegExp(`^${dir}: ok, 6 blobs \\(.+\\) checked\n$`))
    })
  )

  it.scopedLive("--grace: 0 collects at once, a duration spares younger files; dry run lists what a run removes", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      const old = writeImage(dir, "arm64", "old")
      const young = writeImage(dir, "s390x", "young")
      for (const blob of [old.manifest, old.config, old.layer]) age(blobPath(dir, blob.digest), 3)
      for (const blob of [young.manifest, young.config, young.layer]) age(blobPath(dir, blob.digest), 0.5)
      const oldDigests = [old.manifest, old.config, old.layer].map((blob) => blob.digest).sort()
      const youngDigests = [young.manifest, young.config, young.layer].map((blob) => blob.digest).sort()

      const before = snapshot(dir)
      const dry = yield* ocidxExpect(0, ["gc", dir, "--dry-run", "--json"])
      expect(removedOf(dry.stdout)).toEqual(oldDigests)
      expect(snapshot(dir)).toEqual(before)
      const real = yield* ocidxExpect(0, ["gc", dir, "--json"])
      expect(removedOf(real.stdout)).toEqual(oldDigests)
      for (const digest of youngDigests) expect(NodeFs.existsSync(blobPath(dir, digest))).toBe(true)

      expect(removedOf((yield* ocidxExpect(0, ["gc", dir, "--grace", "2h", "--json"])).stdout)).toEqual([])
      expect(removedOf((yield* ocidxExpect(0, ["gc", dir, "--grace", "10m", "--json"])).stdout)).toEqual(youngDigests)
      const bad = yield* ocidxExpect(2, ["gc", dir, "--grace", "soon"])
      expect(bad.stderr).toContain('--grace: "soon" is not a duration')
      yield* ocidxExpect(0, ["verify", dir])
    })
  )

  it.scopedLive("a killed put's .index.json temp file: verify reports it, gc collects it once old, nothing else", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      // What a put killed between creating its temp file and the rename leaves (atomicWrite's naming).
      const temp = NodePath.join(dir, ".index.json.1x2y3z4lmn0p.ocidx-tmp")
      NodeFs.writeFileSync(temp, '{"schemaVersion":2,"manif')
      const lookalikes = [".index.json.bak", ".index.json.ABC.ocidx-tmp", "index.json.1x2y.ocidx-tmp", "notes.txt"]
      for (const name of lookalikes) {
        NodeFs.writeFileSync(NodePath.join(dir, name), "not ocidx's")
        age(NodePath.join(dir, name), 3)
      }
      const verify = yield* ocidxExpect(0, ["verify", dir])
      expect(verify.stdout).toMatch(
        /^info\s+temp-file: .*\/\.index\.json\.1x2y3z4lmn0p\.ocidx-tmp is an ocidx temp file/m
      )
      const before = snapshot(dir)
      expect((yield* ocidxExpect(0, ["gc", dir])).stdout).toBe(`${dir}: nothing to remove\n`)
      expect(snapshot(dir)).toEqual(before)

      age(temp, 2)
      const gc = yield* ocidxExpect(0, ["gc", dir])
      expect(gc.stdout).toBe(`removed .index.json.1x2y3z4lmn0p.ocidx-tmp  25 B\n${dir}: removed 1 blob, 25 B\n`)
      const { [`/${NodePath.basename(temp)}`]: gone, ...rest } = before
      expect(gone).toBeDefined()
      expect(snapshot(dir)).toEqual(rest)
      const after = yield* ocidxExpect(0, ["verify", dir])
      expect(after.stdout).not.toContain("temp-file")
    })
  )
})

describe.concurrent("gc on a blank index.json", () => {
  for (const [label, text] of [
    ["0 bytes", ""],
    ["whitespace only", "  \n\t\n"]
  ] as const) {
    it.scopedLive(`${label}: gc and gc --dry-run refuse with 65 and change nothing; --force sweeps`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeTaggedImage(dir)
        NodeFs.writeFileSync(NodePath.join(dir, "index.json"), text)
        const before = snapshot(dir)
        for (const args of [
          ["gc", dir],
          ["gc", dir, "--dry-run"],
          ["gc", dir, "--grace", "0"]
        ]) {
          const refused = yield* ocidxExpect(65, args)
          expect(refused.stderr).toBe(
            `ocidx: ${dir}/index.json is invalid: it is blank (0 bytes or whitespace only, as a crashed writer leaves it), so every blob would look unreferenced; gc removed nothing. Fix or restore the file; ocidx did not change it. Pass --force to collect anyway.\n`
          )
          expect(snapshot(dir)).toEqual(before)
        }
        const forced = yield* ocidxExpect(0, ["gc", dir, "--force", "--grace", "0", "--json"])
        expect(removedOf(forced.stdout)).toEqual(
          [image.manifest, image.config, image.layer].map((b) => b.digest).sort()
        )
        expect(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8")).toBe(text)
      })
    )
  }

  it.scopedLive(`"manifests": null (umoci's empty index) is a real empty index: gc sweeps by it`, () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeImage(dir)
      writeLayout(dir)
      NodeFs.writeFileSync(NodePath.join(dir, "index.json"), '{"schemaVersion":2,"manifests":null}')
      const gc = yield* ocidxExpect(0, ["gc", dir, "--grace", "0", "--json"])
      expect(removedOf(gc.stdout)).toEqual([image.manifest, image.config, image.layer].map((b) => b.digest).sort())
      expect(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8")).toBe('{"schemaVersion":2,"manifests":null}')
    })
  )
})

describe("gc on a read-only layout", () => {
  it.scopedLive.skipIf(tmpfsUnavailable !== undefined)(
    "--dry-run lists under the shared lock (exit 0); a real gc exits 74; nothing changes",
    () =>
      Effect.gen(function* () {
        let garbage: ReadonlyArray<string> = []
        const dir = yield* readOnlyTmpfs((dir) => {
          const image = writeImage(dir)
          const old = writeImage(dir, "arm64", "old")
          writeLayout(dir, [tagged(image.manifest, "v1")])
          garbage = [old.manifest, old.config, old.layer].map((blob) => blob.digest).sort()
          for (const digest of garbage) age(blobPath(dir, digest), 3)
        })
        const before = snapshot(dir)
        const dry = yield* ocidxExpect(0, ["gc", dir, "--dry-run", "--json"])
        expect(removedOf(dry.stdout)).toEqual(garbage)
        const real = yield* ocidx(["gc", dir])
        expect(real.code, real.stderr).toBe(74)
        expect(snapshot(dir)).toEqual(before)
      })
  )
})
