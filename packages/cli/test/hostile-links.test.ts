/**
 * Hostile file systems end to end (issue 10): links inside a layout are refused, never followed, and a FIFO
 * or a directory where a file should be is "not a regular file" at once. Every case checks the exact exit
 * code and hashes the layout, and the directory outside it, before and after.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { ocidx } from "./support/cli.js"
import { snapshot, tagged, writeBlob, writeImage, writeLayout } from "./support/layout.js"

// Each case runs the CLI several times; on a loaded machine a start can take seconds. A FIFO that blocked an
// open would hang the command, and this limit is what catches it.
const timeout = 180_000

const label = (args: ReadonlyArray<string>, result: { readonly stdout: string; readonly stderr: string }) =>
  `ocidx ${args.join(" ")}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`

/** Runs ocidx and checks its exit code; no stack trace ever. */
const expectExit = (code: number, args: ReadonlyArray<string>) =>
  Effect.map(ocidx(args), (result) => {
    expect(result.code, label(args, result)).toBe(code)
    expect(result.stderr, label(args, result)).not.toMatch(/\n\s+at /)
    return result
  })

const findingCodes = (stdout: string): ReadonlyArray<string> => {
  const report: { readonly findings: ReadonlyArray<{ readonly code: string }> } = JSON.parse(stdout)
  return report.findings.map((finding) => finding.code)
}

/** A layout with one tagged image, and a blob-named file nobody references that gc would collect. */
const taggedLayout = (dir: string) => {
  const image = writeImage(dir)
  writeLayout(dir, [tagged(image.manifest, "v1")])
  return writeBlob(dir, "unreferenced", "application/octet-stream")
}

const mkfifo = (path: string) => ChildProcess.execFileSync("mkfifo", [path])

describe.concurrent("links and special files inside a layout", () => {
  for (const linked of ["blobs/sha256", "blobs"]) {
    it.scopedLive(
      `${linked} is a link outside: verify reports blobs-symlink (exit 1); gc, blob put (and init for blobs) exit 65; nothing changes on either side`,
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const outside = yield* tempDir
          taggedLayout(dir)
          const inside = NodePath.join(dir, linked)
          NodeFs.cpSync(inside, outside, { recursive: true })
          NodeFs.rmSync(inside, { recursive: true })
          NodeFs.symlinkSync(outside, inside)
          const input = NodePath.join(yield* tempDir, "new-blob")
          NodeFs.writeFileSync(input, "a blob that must not land outside")
          const before = { layout: snapshot(dir), outside: snapshot(outside) }

          const verify = yield* expectExit(1, ["verify", dir, "--json"])
          expect(findingCodes(verify.stdout)).toContain("blobs-symlink")
          for (const args of [
            ["gc", dir],
            ["gc", dir, "--dry-run"],
            ["blob", "put", dir, input],
            // init writes nothing under blobs/<alg>, so only a linked blobs/ stops it; either way it changes nothing.
            ...(linked === "blobs" ? [["init", dir]] : [])
          ]) {
            const result = yield* expectExit(65, args)
            expect(result.stderr, label(args, result)).toContain("symbolic link")
          }
          if (linked !== "blobs") yield* expectExit(0, ["init", dir])
          expect({ layout: snapshot(dir), outside: snapshot(outside) }).toEqual(before)
        }),
      timeout
    )
  }

  it.scopedLive(
    "index.json.lock is a link to a path outside: ls and put (74) and verify (1, index-unreadable) never create it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const outside = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir, [tagged(image.manifest, "v1")])
        const target = NodePath.join(outside, "created-through-the-link")
        const lockPath = NodePath.join(dir, "index.json.lock")
        NodeFs.symlinkSync(target, lockPath)
        const before = snapshot(dir)
        for (const args of [
          ["ls", dir],
          ["put", dir, "v2", "--digest", image.manifest.digest, "--size", String(image.manifest.size)]
        ]) {
          const result = yield* expectExit(74, args)
          expect(result.stderr, label(args, result)).toContain("the lock file is a symbolic link")
        }
        // Not "locked" (75, try again later): index.json is unreadable through a link, exit 1.
        const verify = yield* expectExit(1, ["verify", dir, "--json"])
        expect(findingCodes(verify.stdout)).toEqual(["index-unreadable"])
        expect(NodeFs.existsSync(target)).toBe(false)
        expect(NodeFs.readdirSync(outside)).toEqual([])
        expect(NodeFs.readlinkSync(lockPath)).toBe(target)
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "oci-layout is a FIFO: verify (1), put and init (74) answer at once with not a regular file",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir, [tagged(image.manifest, "v1")])
        const layoutFile = NodePath.join(dir, "oci-layout")
        NodeFs.rmSync(layoutFile)
        mkfifo(layoutFile)
        const before = snapshot(dir)
        const verify = yield* expectExit(1, ["verify", dir, "--json"])
        expect(findingCodes(verify.stdout)).toContain("layout-unreadable")
        expect(verify.stdout).toContain("not a regular file")
        for (const args of [
          ["put", dir, "v2", "--digest", image.manifest.digest, "--size", String(image.manifest.size)],
          ["init", dir]
        ]) {
          const result = yield* expectExit(74, args)
          expect(result.stderr, label(args, result)).toContain("not a regular file")
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "oci-layout is a directory: verify says not a regular file, with no platform internals",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir, [tagged(image.manifest, "v1")])
        const layoutFile = NodePath.join(dir, "oci-layout")
        NodeFs.rmSync(layoutFile)
        NodeFs.mkdirSync(layoutFile)
        const before = snapshot(dir)
        const verify = yield* expectExit(1, ["verify", dir])
        const output = verify.stdout + verify.stderr
        expect(output).toContain("not a regular file")
        expect(output).not.toContain("BadResource")
        expect(output).not.toContain("FileSystem.")
        yield* expectExit(74, [
          "put",
          dir,
          "v2",
          "--digest",
          image.manifest.digest,
          "--size",
          String(image.manifest.size)
        ])
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )
})
