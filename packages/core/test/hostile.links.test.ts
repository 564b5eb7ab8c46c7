/**
 * Hostile file systems (issue 10): links where a layout has directories or files, a directory where
 * oci-layout should be, a full disk under init. Nothing outside the layout is created, changed or deleted.
 */
import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import {
  blobsDir,
  codes,
  directory,
  env,
  indexPath,
  layoutPath,
  lockPath,
  multiArch,
  provideFresh,
  snapshot,
  writeLayout
} from "./support/layouts.js"

const outside = "/elsewhere"

/** A blob-named file nobody references, in a directory outside the layout. */
const outsideFile = `${outside}/${"a".repeat(64)}`

/** Moves `blobs/sha256` out of the layout and leaves a link in its place, plus a stray file out there. */
const linkAlgorithmDirectory = Effect.gen(function* () {
  const { memory } = yield* env
  const fs = yield* FileSystem.FileSystem
  const sha256 = `${blobsDir}/sha256`
  for (const [file, bytes] of Object.entries(memory.files())) {
    if (file.startsWith(`${sha256}/`)) memory.writeText(`${outside}/${file.slice(sha256.length + 1)}`, bytes)
  }
  memory.writeText(outsideFile, "someone else's file")
  yield* fs.remove(sha256, { recursive: true })
  yield* fs.symlink(outside, sha256)
})

describe("links inside a layout", () => {
  for (const [name, link] of [
    ["blobs/sha256", linkAlgorithmDirectory],
    [
      "blobs",
      Effect.gen(function* () {
        const { memory } = yield* env
        const fs = yield* FileSystem.FileSystem
        for (const [file, bytes] of Object.entries(memory.files())) {
          if (file.startsWith(`${blobsDir}/`)) memory.writeText(`${outside}/${file.slice(blobsDir.length + 1)}`, bytes)
        }
        memory.writeText(`${outside}/sha256/${"a".repeat(64)}`, "someone else's file")
        yield* fs.remove(blobsDir, { recursive: true })
        yield* fs.symlink(outside, blobsDir)
      })
    ]
  ] as const) {
    it.effect(
      `${name} a link: verify reports blobs-symlink; gc, put and putFile refuse (symlink); nothing changes`,
      () =>
        Effect.gen(function* () {
          yield* writeLayout(multiArch().builder)
          yield* link
          const { layout, memory } = yield* env
          memory.writeText("/input/new-blob", "new blob")
          const before = snapshot(memory)

          const report = yield* layout.verify()
          expect(report.ok).toBe(false)
          expect(codes(report)).toContain("error:blobs-symlink")

          const gc = yield* Effect.either(layout.gc())
          expect(Either.isLeft(gc) && gc.left._tag === "DecodeError" && gc.left.reason).toBe("symlink")
          const dryRun = yield* Effect.either(layout.gc({ dryRun: true }))
          expect(Either.isLeft(dryRun) && dryRun.left._tag === "DecodeError" && dryRun.left.reason).toBe("symlink")

          const put = yield* Effect.either(layout.blobs.put(new TextEncoder().encode("new blob")))
          expect(Either.isLeft(put) && put.left._tag === "DecodeError" && put.left.reason).toBe("symlink")
          if (Either.isLeft(put)) expect(put.left.message).toContain("symbolic link")
          const putFile = yield* Effect.either(layout.blobs.putFile("/input/new-blob"))
          expect(Either.isLeft(putFile) && putFile.left._tag === "DecodeError" && putFile.left.reason).toBe("symlink")

          expect(snapshot(memory)).toEqual(before)
        }).pipe(provideFresh)
    )
  }

  it.effect("a linked blobs/sha256 where the manifests cannot be read: gc names the link, not the manifests", () =>
    Effect.gen(function* () {
      yield* writeLayout(multiArch().builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      memory.writeText(outsideFile, "someone else's file")
      yield* fs.remove(`${blobsDir}/sha256`, { recursive: true })
      yield* fs.symlink(outside, `${blobsDir}/sha256`)
      const before = snapshot(memory)
      for (const options of [{}, { force: true }, { dryRun: true }]) {
        const gc = yield* Effect.either(layout.gc(options))
        expect(Either.isLeft(gc) && gc.left._tag === "DecodeError" && gc.left.reason).toBe("symlink")
      }
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  it.effect("an oci-layout that is a link: a put refuses it (symlink) and changes nothing", () =>
    Effect.gen(function* () {
      yield* writeLayout(multiArch().builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      memory.writeText(`${outside}/oci-layout`, `{"imageLayoutVersion":"1.0.0"}`)
      yield* fs.remove(layoutPath)
      yield* fs.symlink(`${outside}/oci-layout`, layoutPath)
      const before = snapshot(memory)
      const put = yield* Effect.either(layout.index.remove(["nothing"]))
      expect(Either.isLeft(put) && put.left._tag === "ReadError" && put.left.reason).toBe("symlink")
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )

  it.effect("an index.json that is a link is refused (symlink)", () =>
    Effect.gen(function* () {
      yield* writeLayout(multiArch().builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      memory.writeText(`${outside}/index.json`, memory.readText(indexPath) ?? "")
      yield* fs.remove(indexPath)
      yield* fs.symlink(`${outside}/index.json`, indexPath)
      const read = yield* Effect.either(layout.index.read)
      expect(Either.isLeft(read) && read.left._tag === "ReadError" && read.left.reason).toBe("symlink")
    }).pipe(provideFresh)
  )
})

describe("oci-layout that is a directory", () => {
  it.effect("verify says it is not a regular file, in plain words", () =>
    Effect.gen(function* () {
      yield* writeLayout(multiArch().builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(layoutPath)
      memory.makeDirectory(layoutPath)
      const report = yield* layout.verify()
      const found = report.findings.find((finding) => finding.code === "layout-unreadable")
      expect(found?.message).toBe(`cannot read ${layoutPath}: it is not a regular file.`)
    }).pipe(provideFresh)
  )
})

describe("init on a full disk", () => {
  it.effect("leaves nothing behind: no directory, no blobs/, no lock file, no oci-layout", () =>
    Effect.gen(function* () {
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      memory.inject("write", "ENOSPC")
      const result = yield* Effect.either(layout.init)
      expect(Either.isLeft(result) && result.left._tag === "WriteError" && result.left.reason).toBe("no-space")
      memory.clearFaults()
      expect(yield* fs.exists(directory)).toBe(false)
      expect(yield* fs.exists(lockPath)).toBe(false)
      expect(snapshot(memory)).toEqual({})
    }).pipe(provideFresh)
  )

  it.effect("in an existing directory, leaves it as it was", () =>
    Effect.gen(function* () {
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      memory.makeDirectory(directory)
      memory.writeText(`${directory}/README`, "mine")
      const before = snapshot(memory)
      memory.inject("write", "ENOSPC")
      const result = yield* Effect.either(layout.init)
      memory.clearFaults()
      expect(Either.isLeft(result)).toBe(true)
      expect(yield* fs.exists(blobsDir)).toBe(false)
      expect(yield* fs.exists(lockPath)).toBe(false)
      expect(snapshot(memory)).toEqual(before)
    }).pipe(provideFresh)
  )
})
