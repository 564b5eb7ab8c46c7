import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import type * as Layout from "@ocidx/core/Layout"
import * as LayoutFiles from "@ocidx/core/LayoutFiles"
import * as MediaType from "@ocidx/core/MediaType"
import * as testing from "@ocidx/core/testing"
import { Effect, Either, FastCheck, Fiber, TestClock } from "effect"
import { duplicateKeys } from "../src/internal/jsonDuplicateKeys.js"
import * as JsonReader from "../src/internal/jsonReader.js"
import {
  arbCorruption,
  arbPlan,
  blobPath,
  blobsDir,
  buildPlan,
  codes,
  corruptFiles,
  directory,
  env,
  expectedFindings,
  indexPath,
  LayoutBuilder,
  layoutPath,
  lockPath,
  multiArch,
  provideFresh,
  snapshot,
  writeLayout
} from "./support/layouts.js"

/** A one-image layout tagged `v1`. */
const simple = () => {
  const builder = new LayoutBuilder()
  const image = builder.image({ layers: ["first layer", "second layer"] })
  builder.add(image.manifest, ["v1"])
  return { builder, image }
}

const findingsOf = (report: Layout.VerifyReport, code: string) =>
  report.findings.filter((finding) => finding.code === code)

describe("Layout.verify", () => {
  it.effect("a clean layout (nested index, platforms, subject) verifies ok with no findings at all", () =>
    Effect.gen(function* () {
      const { builder } = multiArch()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(report.findings).toEqual([])
      expect(report.ok).toBe(true)
      expect(report.blobsChecked).toBe(builder.blobs.size)
      expect(report.bytesChecked).toBe([...builder.blobs.values()].reduce((sum, bytes) => sum + bytes.length, 0))
    }).pipe(provideFresh)
  )

  it.effect("changes nothing, and holds the shared lock only while it reads index.json", () =>
    Effect.gen(function* () {
      const { builder } = multiArch()
      yield* writeLayout(builder)
      const { layout, lock, memory } = yield* env
      yield* corruptFiles(builder, { _tag: "FlipByte", pick: 3 })
      const before = snapshot(memory)
      const callsBefore = memory.calls().length
      const heldWhileHashing: Array<number> = []
      yield* layout.verify({
        onProgress: () => Effect.sync(() => heldWhileHashing.push(lock.holders(lockPath).shared))
      })
      expect(snapshot(memory)).toEqual(before)
      const mutating = memory
        .calls()
        .slice(callsBefore)
        .filter((call) => !["readFile", "stat", "readDirectory", "open-read"].includes(call.op))
      expect(mutating).toEqual([])
      expect(lock.events().map((event) => `${event.event}:${event.mode}`)).toEqual([
        "acquired:shared",
        "released:shared"
      ])
      expect(heldWhileHashing.length).toBeGreaterThan(0)
      expect(heldWhileHashing.every((held) => held === 0)).toBe(true)
    }).pipe(provideFresh)
  )

  it.effect("reports progress up to (total, total), the same whatever the concurrency", () =>
    Effect.gen(function* () {
      const { builder } = multiArch()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const seen: Array<readonly [number, number]> = []
      const report = yield* layout.verify({
        concurrency: 4,
        onProgress: (done, total) => Effect.sync(() => seen.push([done, total]))
      })
      const total = builder.blobs.size
      expect(seen.at(-1)).toEqual([total, total])
      expect(
        seen.every(([done, t], i) => t === total && done <= total && (i === 0 || done > (seen[i - 1]?.[0] ?? 0)))
      ).toBe(true)
      const sequential = yield* layout.verify({ concurrency: 1 })
      expect(sequential).toEqual(report)
    }).pipe(provideFresh)
  )

  it.effect("hashes each manifest in its batch read, and reports the same whatever the concurrency", () =>
    Effect.gen(function* () {
      const { builder } = multiArch()
      yield* writeLayout(builder)
      yield* corruptFiles(builder, { _tag: "FlipByte", pick: 1 })
      yield* corruptFiles(builder, { _tag: "Truncate", pick: 4 })
      yield* corruptFiles(builder, { _tag: "Missing", pick: 7, strict: false })
      const portable = yield* LayoutFiles.make
      const asked: Array<LayoutFiles.FileToRead> = []
      const recording: LayoutFiles.LayoutFiles = {
        ...portable,
        readRegularFiles: (files) =>
          Effect.zipRight(
            Effect.sync(() => asked.push(...files)),
            portable.readRegularFiles(files)
          )
      }
      const verifyWith = (concurrency: number) =>
        Effect.gen(function* () {
          const { layout } = yield* env
          return yield* layout.verify({ concurrency })
        }).pipe(Effect.provideService(LayoutFiles.LayoutFiles, recording))
      const one = yield* verifyWith(1)
      expect(asked.length).toBeGreaterThan(0)
      expect(asked.every((file) => file.hash === "sha256")).toBe(true)
      expect(yield* verifyWith(3)).toEqual(one)
      expect(yield* verifyWith(8)).toEqual(one)
      expect(one.ok).toBe(false)
    }).pipe(provideFresh)
  )

  it.effect("a manifest's digest is the one its batch read computed: no second hash", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const portable = yield* LayoutFiles.make
      const manifestFile = blobPath(image.manifest.digest)
      const wrongHex = "0".repeat(64)
      // Reports another digest for the manifest than its bytes have: verify must take the read's word for it.
      const lying: LayoutFiles.LayoutFiles = {
        ...portable,
        readRegularFiles: (files) =>
          Effect.map(portable.readRegularFiles(files), (results) =>
            results.map((result, i) =>
              files[i]?.path === manifestFile ? Either.map(result, (read) => ({ ...read, hex: wrongHex })) : result
            )
          )
      }
      const { layout } = yield* Effect.provideService(env, LayoutFiles.LayoutFiles, lying)
      const report = yield* layout.verify()
      expect(codes(report)[0]).toBe("error:blob-digest-mismatch")
      expect(report.findings[0]).toMatchObject({ path: manifestFile, digest: image.manifest.digest })
      expect(report.findings[0]?.message).toContain(`sha256:${wrongHex}`)
    }).pipe(provideFresh)
  )

  it.effect("a flipped byte in a layer: error blob-digest-mismatch, naming the file and the digest", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const layer = image.layers[1]
      if (layer === undefined) throw new Error("no layer")
      const file = blobPath(layer.digest)
      const bytes = memory.files()[file] ?? new Uint8Array()
      memory.writeText(
        file,
        Uint8Array.from(bytes, (byte, i) => (i === 3 ? byte ^ 1 : byte))
      )
      const report = yield* layout.verify()
      expect(report.ok).toBe(false)
      expect(codes(report)).toEqual(["error:blob-digest-mismatch"])
      expect(report.findings[0]).toMatchObject({ path: file, digest: layer.digest })
      expect(report.findings[0]?.message).toContain("fetch it again")
    }).pipe(provideFresh)
  )

  it.effect("a flipped byte in a manifest: blob-digest-mismatch; its children are then unknown (info)", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const file = blobPath(image.manifest.digest)
      const text = memory.readText(file) ?? ""
      memory.writeText(file, text.replace("layers", "Layers"))
      const report = yield* layout.verify()
      expect(codes(report)).toEqual([
        "error:blob-digest-mismatch",
        "info:blob-unreferenced",
        "info:blob-unreferenced",
        "info:blob-unreferenced"
      ])
      expect(report.findings[1]?.message).toContain("could not be read")
    }).pipe(provideFresh)
  )

  it.effect("a truncated blob: blob-size-mismatch and blob-digest-mismatch", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const file = blobPath(image.config.digest)
      memory.writeText(file, (memory.files()[file] ?? new Uint8Array()).slice(0, 5))
      const report = yield* layout.verify()
      expect([...codes(report)].sort()).toEqual(["error:blob-digest-mismatch", "error:blob-size-mismatch"])
      expect(findingsOf(report, "blob-size-mismatch")[0]?.message).toContain(
        `is 5 bytes, but the descriptor in ${blobPath(image.manifest.digest)} says ${image.config.size}`
      )
    }).pipe(provideFresh)
  )

  it.effect("a wrong size in a descriptor: only blob-size-mismatch, and the manifest's blobs are still checked", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const image = builder.image({ layers: ["a layer"] })
      builder.add({ ...image.manifest, size: image.manifest.size + 10 }, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:blob-size-mismatch"])
      expect(report.findings[0]).toMatchObject({ path: blobPath(image.manifest.digest), digest: image.manifest.digest })
      expect(report.findings[0]?.message).toContain(`the descriptor in ${indexPath} says ${image.manifest.size + 10}`)
      expect(report.blobsChecked).toBe(builder.blobs.size)
    }).pipe(provideFresh)
  )

  it.effect(
    "descriptors that claim less than their manifests hold: size mismatches, each read capped by its claim",
    () =>
      Effect.gen(function* () {
        // 40 manifests of over a MiB each, described as 100 bytes: a batch's reads must follow the descriptors.
        const builder = new LayoutBuilder()
        const claimed = 100
        const padding = " ".repeat(1024 * 1024)
        const manifests = Array.from({ length: 40 }, (_, i) => {
          const config = builder.config(undefined, `lying-${i}`)
          const manifest = builder.manifest({ config, layers: [] }, { edit: (json) => `${json}${padding}` })
          builder.add({ ...manifest, size: claimed }, [`v${i}`])
          return manifest
        })
        yield* writeLayout(builder)
        const portable = yield* LayoutFiles.make
        const asked: Array<LayoutFiles.FileToRead> = []
        const read: Array<LayoutFiles.ReadResult["_tag"] | "Failed"> = []
        const recording: LayoutFiles.LayoutFiles = {
          ...portable,
          readRegularFiles: (files) =>
            Effect.tap(portable.readRegularFiles(files), (results) =>
              Effect.sync(() => {
                asked.push(...files)
                read.push(...results.map((result) => (Either.isLeft(result) ? "Failed" : result.right._tag)))
              })
            )
        }
        const { layout } = yield* Effect.provideService(env, LayoutFiles.LayoutFiles, recording)
        const report = yield* layout.verify()
        expect(asked.map((file) => file.maxBytes)).toEqual(manifests.map(() => claimed))
        expect(read.every((tag) => tag === "TooLarge")).toBe(true)
        const mismatches = findingsOf(report, "blob-size-mismatch")
        expect(mismatches.map((found) => found.digest)).toEqual(manifests.map((manifest) => manifest.digest))
        for (const [i, manifest] of manifests.entries()) {
          expect(mismatches[i]).toMatchObject({ severity: "error", path: blobPath(manifest.digest) })
          expect(mismatches[i]?.message).toContain(
            `is ${manifest.size} bytes, but the descriptor in ${indexPath} says ${claimed}`
          )
        }
        // Neither hashed nor parsed: a size mismatch is all there is to say; what they reference is unknown.
        expect(codes(report).filter((code) => code !== "error:blob-size-mismatch")).toEqual(
          manifests.map(() => "info:blob-unreferenced")
        )
        expect(report.ok).toBe(false)
      }).pipe(provideFresh)
  )

  it.effect("a missing blob: warning blob-missing (the spec allows it); an error with strict", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const fs = yield* FileSystem.FileSystem
      const layer = image.layers[0]
      if (layer === undefined) throw new Error("no layer")
      yield* fs.remove(blobPath(layer.digest))
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["warning:blob-missing"])
      expect(report.ok).toBe(true)
      expect(report.findings[0]).toMatchObject({ digest: layer.digest, path: blobPath(layer.digest) })
      expect(report.findings[0]?.message).toContain(`referenced from ${blobPath(image.manifest.digest)}`)
      const strict = yield* layout.verify({ strict: true })
      expect(codes(strict)).toEqual(["error:blob-missing"])
      expect(strict.ok).toBe(false)
    }).pipe(provideFresh)
  )

  it.effect("a missing manifest: blob-missing; the blobs only it referenced show as unreferenced", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(blobPath(image.manifest.digest))
      const report = yield* layout.verify()
      expect(codes(report)).toEqual([
        "warning:blob-missing",
        "info:blob-unreferenced",
        "info:blob-unreferenced",
        "info:blob-unreferenced"
      ])
    }).pipe(provideFresh)
  )

  it.effect("a symlinked blob: error blob-symlink, even when the target has the right content", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      const file = blobPath(image.config.digest)
      memory.writeText("/elsewhere/config", memory.files()[file] ?? new Uint8Array())
      yield* fs.remove(file)
      yield* fs.symlink("/elsewhere/config", file)
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:blob-symlink"])
      expect(report.findings[0]).toMatchObject({ path: file, digest: image.config.digest })
    }).pipe(provideFresh)
  )

  it.effect("a symlinked manifest: error blob-symlink", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      const file = blobPath(image.manifest.digest)
      memory.writeText("/elsewhere/manifest", memory.files()[file] ?? new Uint8Array())
      yield* fs.remove(file)
      yield* fs.symlink("/elsewhere/manifest", file)
      const report = yield* layout.verify()
      expect(codes(report)[0]).toBe("error:blob-symlink")
    }).pipe(provideFresh)
  )

  it.effect("a directory where a blob should be: error blob-not-file", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const fs = yield* FileSystem.FileSystem
      const file = blobPath(image.config.digest)
      yield* fs.remove(file)
      yield* fs.makeDirectory(file)
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:blob-not-file"])
    }).pipe(provideFresh)
  )

  it.effect("files that are not blobs: warning stray-file; ocidx temp files: info temp-file", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      memory.writeText(`${blobsDir}/sha256/not-a-digest`, "x")
      memory.writeText(`${blobsDir}/sha256/${"A".repeat(64)}`, "uppercase hex is not a digest")
      memory.writeText(`${blobsDir}/sha512/${"a".repeat(64)}`, "too short for sha512")
      memory.writeText(`${blobsDir}/README`, "a file directly in blobs/")
      memory.writeText(`${blobsDir}/.blob.abc123.ocidx-tmp`, "half written")
      memory.writeText(`${directory}/notes.txt`, "outside blobs/: ignored")
      const report = yield* layout.verify()
      expect(report.ok).toBe(true)
      expect(report.findings.map((finding) => [finding.severity, finding.code, finding.path])).toEqual([
        ["info", "temp-file", `${blobsDir}/.blob.abc123.ocidx-tmp`],
        ["warning", "stray-file", `${blobsDir}/README`],
        ["warning", "stray-file", `${blobsDir}/sha256/${"A".repeat(64)}`],
        ["warning", "stray-file", `${blobsDir}/sha256/not-a-digest`],
        ["warning", "stray-file", `${blobsDir}/sha512/${"a".repeat(64)}`]
      ])
    }).pipe(provideFresh)
  )

  it.effect("an unreferenced blob: info blob-unreferenced", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      const garbage = builder.layer("garbage")
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(report.findings).toEqual([
        {
          severity: "info",
          code: "blob-unreferenced",
          message: `${blobPath(garbage.digest)} is not referenced from index.json; gc removes it`,
          path: blobPath(garbage.digest),
          digest: garbage.digest
        }
      ])
    }).pipe(provideFresh)
  )

  it.effect("unreferenced digest names gc would keep, a link and a directory, are stray-file; gc agrees", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      const garbage = builder.layer("garbage")
      yield* writeLayout(builder)
      const { layout } = yield* env
      const fs = yield* FileSystem.FileSystem
      const link = `${blobsDir}/sha256/${"1".repeat(64)}`
      const dir = `${blobsDir}/sha256/${"2".repeat(64)}`
      yield* fs.symlink(blobPath(garbage.digest), link)
      yield* fs.makeDirectory(dir)
      const report = yield* layout.verify()
      const byPath = new Map(report.findings.map((finding) => [finding.path, finding]))
      expect(report.findings).toHaveLength(3)
      expect(byPath.get(link)).toMatchObject({ severity: "warning", code: "stray-file" })
      expect(byPath.get(link)?.message).toContain("a symbolic link")
      expect(byPath.get(dir)).toMatchObject({ severity: "warning", code: "stray-file" })
      expect(byPath.get(dir)?.message).toContain("a directory")
      expect(byPath.get(blobPath(garbage.digest))).toMatchObject({ severity: "info", code: "blob-unreferenced" })
      // What verify says gc removes is what gc removes, and nothing else.
      const removed = yield* layout.gc({ grace: 0 })
      expect(removed.removed.map((blob) => blob.path)).toEqual([blobPath(garbage.digest)])
    }).pipe(provideFresh)
  )
  it.effect("a manifest that is not valid JSON: error manifest-invalid", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const config = builder.config()
      const manifest = builder.manifest({ config, layers: [] }, { edit: (json) => `${json},` })
      builder.add(manifest, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:manifest-invalid", "info:blob-unreferenced"])
      expect(report.findings[0]?.message).toContain("not valid JSON")
      expect(report.findings[0]).toMatchObject({ path: blobPath(manifest.digest), digest: manifest.digest })
    }).pipe(provideFresh)
  )

  it.effect("a manifest that breaks the schema: manifest-invalid naming the field", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const config = builder.config()
      const manifest = builder.manifest({ config: { ...config, size: -1 }, layers: [] }, { edit: (json) => json })
      builder.add(manifest, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)[0]).toBe("error:manifest-invalid")
      expect(report.findings[0]?.message).toContain('["config"]["size"]')
      expect(report.findings[0]?.message).toContain("must not be negative")
    }).pipe(provideFresh)
  )

  it.effect("a nested index with a duplicate key: error duplicate-key naming the key path", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const image = builder.image({ layers: ["l"], platform: { os: "linux", architecture: "amd64" } })
      const index = builder.index([image.manifest], {
        edit: (json) => json.replace('"platform":{', '"platform":{"os":"plan9",')
      })
      builder.add(index, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:duplicate-key"])
      expect(report.findings[0]).toMatchObject({ path: blobPath(index.digest), digest: index.digest })
      expect(report.findings[0]?.message).toContain('["manifests"][0]["platform"]["os"]')
    }).pipe(provideFresh)
  )

  it.effect("index.json with a duplicate key: error duplicate-key", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      builder.indexText = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[${JSON.stringify(image.manifest)}],"manifests":[${JSON.stringify(image.manifest)}]}`
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:duplicate-key"])
      expect(report.findings[0]?.path).toBe(indexPath)
      expect(report.findings[0]?.message).toContain('["manifests"]')
    }).pipe(provideFresh)
  )

  it.effect("a ref name outside the grammar: warning ref-name-invalid", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const image = builder.image({ layers: ["l"] })
      builder.add(image.manifest, ["good", "bad tag", "-leading"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["warning:ref-name-invalid", "warning:ref-name-invalid"])
      expect(report.ok).toBe(true)
      expect(report.findings[0]?.message).toContain('manifests[1]: "bad tag" is not a valid ref name')
      expect(report.findings[1]?.message).toContain("manifests[2]")
    }).pipe(provideFresh)
  )

  it.effect("a digest of an algorithm ocidx cannot compute: info blob-unverifiable, size still checked", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const config = builder.config()
      const layer = builder.layer("sha1 layer", { algorithm: "sha1" })
      const wrongSize = builder.layer("another sha1 layer", { algorithm: "sha1" })
      const manifest = builder.manifest({ config, layers: [layer, { ...wrongSize, size: 1 }] })
      builder.add(manifest, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["info:blob-unverifiable", "error:blob-size-mismatch", "info:blob-unverifiable"])
      expect(report.findings[0]).toMatchObject({ digest: layer.digest, path: blobPath(layer.digest) })
      expect(report.findings[0]?.message).toContain("cannot compute sha1")
    }).pipe(provideFresh)
  )

  it.effect("embedded data: matching data passes, other bytes of the same length give error data-mismatch", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const config = builder.config()
      const good = builder.layer("good data")
      const bad = builder.layer("bad data!")
      const manifest = builder.manifest({
        config,
        layers: [
          { ...good, data: Buffer.from("good data").toString("base64") },
          { ...bad, data: Buffer.from("bad data?").toString("base64") }
        ]
      })
      builder.add(manifest, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["error:data-mismatch"])
      expect(report.findings[0]).toMatchObject({ digest: bad.digest, path: blobPath(manifest.digest) })
    }).pipe(provideFresh)
  )

  it.effect(
    "oci-layout: missing is layout-missing, not JSON is layout-invalid, another version is layout-version",
    () =>
      Effect.gen(function* () {
        const { builder } = simple()
        builder.ociLayout = undefined
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        expect(codes(yield* layout.verify())).toEqual(["error:layout-missing"])
        memory.writeText(layoutPath, "{imageLayoutVersion")
        const invalid = yield* layout.verify()
        expect(codes(invalid)).toEqual(["error:layout-invalid"])
        expect(invalid.findings[0]?.message).toContain("not valid JSON")
        memory.writeText(layoutPath, `{"version":"1.0.0"}`)
        const noField = yield* layout.verify()
        expect(codes(noField)).toEqual(["error:layout-invalid"])
        expect(noField.findings[0]?.message).toContain('["imageLayoutVersion"]')
        memory.writeText(layoutPath, `{"imageLayoutVersion":"2.0.0"}`)
        const version = yield* layout.verify()
        expect(codes(version)).toEqual(["error:layout-version"])
        expect(version.findings[0]?.message).toContain('"2.0.0"')
        memory.writeText(layoutPath, `{"imageLayoutVersion":"1.0.0","extra":true}`)
        expect(codes(yield* layout.verify())).toEqual([])
      }).pipe(provideFresh)
  )

  it.effect("index.json: missing is index-missing (nothing is called unreferenced); invalid names the field", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      const fs = yield* FileSystem.FileSystem
      const text = memory.readText(indexPath) ?? ""
      yield* fs.remove(indexPath)
      expect(codes(yield* layout.verify())).toEqual(["error:index-missing"])
      memory.writeText(indexPath, text.replace(/"size":\d+/, `"size":"12"`))
      const invalid = yield* layout.verify()
      expect(codes(invalid)).toEqual(["error:index-invalid"])
      expect(invalid.findings[0]?.message).toContain('["manifests"][0]["size"]')
      memory.writeText(indexPath, "")
      expect(codes(yield* layout.verify())).toContain("warning:index-empty")
    }).pipe(provideFresh)
  )

  it.effect("index.json with a byte-order mark: warning index-bom, and the index is still checked", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      memory.writeText(indexPath, `\uFEFF${memory.readText(indexPath) ?? ""}`)
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["warning:index-bom"])
      expect(report.findings[0]?.path).toBe(indexPath)
      expect(report.blobsChecked).toBe(builder.blobs.size)
    }).pipe(provideFresh)
  )

  it.effect("index.json is read once: what a writer renames into place after the read is not reported", () =>
    Effect.gen(function* () {
      const { builder, image } = simple()
      yield* writeLayout(builder)
      const memory = yield* testing.MemoryFileSystem
      const portable = yield* LayoutFiles.make
      const replacement = `\uFEFF{"schemaVersion":2,"manifests":[${JSON.stringify(image.manifest)}],"manifests":[]}`
      let reads = 0
      // Another writer replaces index.json just after verify read it: verify reports the index it decoded.
      const racing: LayoutFiles.LayoutFiles = {
        ...portable,
        readRegularFile: (file, maxBytes) =>
          Effect.tap(portable.readRegularFile(file, maxBytes), () =>
            Effect.sync(() => {
              if (file !== indexPath) return
              reads++
              memory.writeText(indexPath, replacement)
            })
          )
      }
      const { layout } = yield* Effect.provideService(env, LayoutFiles.LayoutFiles, racing)
      const report = yield* layout.verify()
      expect(reads).toBe(1)
      expect(report.findings).toEqual([])
      expect(report.ok).toBe(true)
    }).pipe(provideFresh)
  )

  it.effect("index.json locked by a writer past the timeout: error index-locked, and verify still returns", () =>
    Effect.gen(function* () {
      const { builder } = simple()
      yield* writeLayout(builder)
      const { layout, lock } = yield* env
      const report = yield* Effect.scoped(
        Effect.gen(function* () {
          expect(yield* lock.holdExternally(lockPath, "exclusive")).toBe(true)
          const fiber = yield* Effect.fork(layout.verify())
          yield* TestClock.adjust("2 seconds")
          return yield* Fiber.join(fiber)
        })
      )
      expect(codes(report)).toEqual(["error:index-locked"])
      expect(report.findings[0]?.message).toContain("another process holds the lock")
    }).pipe(provideFresh)
  )

  it.effect("blobs/ missing: warning blobs-missing", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      yield* writeLayout(builder)
      const { layout } = yield* env
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(blobsDir, { recursive: true })
      const report = yield* layout.verify()
      expect(codes(report)).toEqual(["warning:blobs-missing"])
      expect(report.ok).toBe(true)
    }).pipe(provideFresh)
  )

  it.effect("descriptors with unknown media types are plain blobs and are checked", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const thing = builder.blob("application/vnd.example.thing+json", `{"not":"a manifest"}`)
      builder.add({ ...thing, annotations: { [Annotations.refName]: "thing" } })
      yield* writeLayout(builder)
      const { layout, memory } = yield* env
      expect((yield* layout.verify()).findings).toEqual([])
      memory.writeText(blobPath(thing.digest), `{"not":"a manifesT"}`)
      expect(codes(yield* layout.verify())).toEqual(["error:blob-digest-mismatch"])
    }).pipe(provideFresh)
  )

  it.effect.prop(
    "the report does not depend on how many blobs are read at once: concurrency 1, 2 and 8 agree",
    [arbPlan, arbCorruption],
    ([plan, corruption]) =>
      Effect.gen(function* () {
        const builder = buildPlan(plan, corruption)
        yield* writeLayout(builder)
        yield* corruptFiles(builder, corruption)
        const { layout } = yield* env
        const one = yield* layout.verify({ concurrency: 1 })
        expect(yield* layout.verify({ concurrency: 2 })).toEqual(one)
        expect(yield* layout.verify({ concurrency: 8 })).toEqual(one)
      }).pipe(provideFresh),
    { fastCheck: { numRuns: 30 } }
  )

  it.effect("blobs of several MiB (read in chunks): a clean one passes, a flipped byte deep inside is found", () =>
    Effect.gen(function* () {
      const builder = new LayoutBuilder()
      const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 251)
      const image = builder.image({ layers: [big, "small"] })
      builder.add(image.manifest, ["v1"])
      yield* writeLayout(builder)
      const { layout } = yield* env
      const clean = yield* layout.verify()
      expect(clean.findings).toEqual([])
      expect(clean.bytesChecked).toBe([...builder.blobs.values()].reduce((sum, bytes) => sum + bytes.length, 0))
      const fs = yield* FileSystem.FileSystem
      const layer = image.layers[0]
      if (layer === undefined) return yield* Effect.dieMessage("no layer")
      const corrupt = big.slice()
      corrupt[2 * 1024 * 1024 + 5] = (corrupt[2 * 1024 * 1024 + 5] ?? 0) ^ 1
      yield* fs.writeFile(blobPath(layer.digest), corrupt)
      const report = yield* layout.verify()
      expect(findingsOf(report, "blob-digest-mismatch").map((finding) => finding.digest)).toEqual([layer.digest])
      expect(report.ok).toBe(false)
    }).pipe(provideFresh)
  )

  it.effect.prop(
    "a random clean layout verifies ok with no findings",
    [arbPlan],
    ([plan]) =>
      Effect.gen(function* () {
        const builder = buildPlan(plan)
        yield* writeLayout(builder)
        const { layout } = yield* env
        const report = yield* layout.verify()
        expect(report.findings).toEqual([])
        expect(report.blobsChecked).toBe(builder.blobs.size)
      }).pipe(provideFresh),
    { fastCheck: { numRuns: 30 } }
  )

  it.effect.prop(
    "a random layout with one random corruption: verify reports it with its code and severity",
    [arbPlan, arbCorruption],
    ([plan, corruption]) =>
      Effect.gen(function* () {
        const builder = buildPlan(plan, corruption)
        yield* writeLayout(builder)
        yield* corruptFiles(builder, corruption)
        const { layout } = yield* env
        const report = yield* layout.verify({ strict: corruption._tag === "Missing" && corruption.strict })
        const found = codes(report)
        for (const expected of expectedFindings(corruption)) {
          expect(found, `${corruption._tag} must report ${expected.code}`).toContain(
            `${expected.severity}:${expected.code}`
          )
        }
        expect(report.ok).toBe(!found.some((code) => code.startsWith("error:")))
      }).pipe(provideFresh),
    { fastCheck: { numRuns: 30 } }
  )
})

describe("the duplicate-key scanner verify uses", () => {
  it("finds duplicates at any depth, with the path of the object holding them", () => {
    const text = `{"a":1,"b":{"c":[{"d":1,"d":2}],"c":null},"a":[1,{"x":"}\\"{","x":0}]}`
    expect(duplicateKeys(text)).toEqual([
      { path: ["b", "c", 0], key: "d" },
      { path: ["b"], key: "c" },
      { path: [], key: "a" },
      // The string "}\"{" does not end the object.
      { path: ["a", 1], key: "x" }
    ])
  })

  it("compares keys after unescaping them, as a JSON parser does", () => {
    expect(duplicateKeys(`{"a":1,"\\u0061":2}`)).toEqual([{ path: [], key: "a" }])
    expect(duplicateKeys(`{"a\\"b":1,"a\\u0022b":2, "ab":3}`)).toEqual([{ path: [], key: 'a"b' }])
  })

  it("keys in sibling objects are not duplicates; strings that look like keys are not keys", () => {
    expect(duplicateKeys(`[{"a":1},{"a":2},"\\"a\\":",{"b":{"a":1},"a":{"b":2}}]`)).toEqual([])
    expect(duplicateKeys(` { } `)).toEqual([])
    expect(duplicateKeys(`[]`)).toEqual([])
  })

  it("stops at a syntax error without throwing, keeping what it found before it", () => {
    expect(duplicateKeys(`{"a":1,"a":2,`)).toEqual([{ path: [], key: "a" }])
    expect(duplicateKeys(`{"a`)).toEqual([])
    expect(duplicateKeys(`not json`)).toEqual([])
    expect(duplicateKeys(``)).toEqual([])
  })

  it("handles nesting far deeper than the call stack would allow", () => {
    const depth = 200_000
    const text = `${"[".repeat(depth)}{"k":1,"k":2}${"]".repeat(depth)}`
    const found = duplicateKeys(text)
    expect(found).toHaveLength(1)
    expect(found[0]?.path).toHaveLength(depth)
  })

  it.prop("finds nothing in what JSON.stringify writes", [FastCheck.jsonValue({ maxDepth: 4 })], ([value]) => {
    expect(duplicateKeys(JSON.stringify(value))).toEqual([])
  })

  /** Valid JSON text in which some objects repeat one of their members, once or more, anywhere. */
  const arbRepeatingText = FastCheck.tuple(
    FastCheck.jsonValue({ maxDepth: 4 }),
    FastCheck.array(FastCheck.nat(), { minLength: 1, maxLength: 16 })
  ).map(([value, picks]) => {
    let turn = 0
    const render = (node: unknown): string => {
      if (Array.isArray(node)) return `[${node.map(render).join(",")}]`
      if (typeof node !== "object" || node === null) return JSON.stringify(node)
      const members = Object.entries(node).map(([key, item]) => `${JSON.stringify(key)}:${render(item)}`)
      const pick = picks[turn++ % picks.length] ?? 0
      const repeated = members[pick % Math.max(members.length, 1)]
      if (repeated !== undefined && pick % 2 === 0) members.splice(pick % (members.length + 1), 0, repeated)
      return `{${members.join(",")}}`
    }
    return render(value)
  })

  it.prop(
    "the reader's own scan, allowing duplicates, lists the same ones in the same order",
    [arbRepeatingText],
    ([text]) => {
      const parsed = JsonReader.parseText("x.json", text, { duplicateKeys: "allow" })
      // What the reader refuses even so (a "__proto__" key) verify scans with duplicateKeys alone.
      if (Either.isRight(parsed)) expect(parsed.right.duplicates).toEqual(duplicateKeys(text))
    },
    { fastCheck: { numRuns: 300 } }
  )

  /** What verify takes from a parse: the value and the duplicates, or the failure's reason and path. */
  const outcome = (text: string, spans: boolean) =>
    Either.match(JsonReader.parseText("x.json", text, { duplicateKeys: "allow", spans }), {
      onLeft: (error) => ({ failed: error.reason, message: error.message }),
      onRight: (doc) => ({ value: doc.value, duplicates: doc.duplicates })
    })

  it.prop(
    "without spans, the reader finds what the scan finds: same value, same duplicates, same refusals",
    [
      FastCheck.oneof(
        arbRepeatingText,
        FastCheck.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value, null, 1)),
        // Keys and strings of quotes, backslashes and colons, which end keys or only look like they do.
        FastCheck.dictionary(
          FastCheck.string({ unit: FastCheck.constantFrom('"', "\\", ":", "a", " ", "_") }),
          FastCheck.string({ unit: FastCheck.constantFrom('"', "\\", ":", "a", "}") })
        ).map((record) => JSON.stringify(record))
      )
    ],
    ([text]) => {
      expect(outcome(text, false)).toEqual(outcome(text, true))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("without spans, the reader still refuses what the scan refuses, and lists what it notes", () => {
    const nested = (depth: number) => `${'{"k":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`
    const texts = [
      `{"__proto__":{"x":1}}`,
      `{"a":[{"\\u005f_proto__":1}]}`,
      nested(JsonReader.maxDepth),
      nested(JsonReader.maxDepth + 1),
      `{"a":1,"\\u0061":2}`,
      `{"a\\\\":1,"a\\\\\\"":2,"b":"\\\\\\":","c":"\\":"}`,
      `{"a":"x\\" : y","a":1}`,
      `{"a":1,}`,
      `[1,2`
    ]
    for (const text of texts) expect(outcome(text, false), text).toEqual(outcome(text, true))
    expect(outcome(nested(JsonReader.maxDepth + 1), false)).toMatchObject({ failed: "too-deep" })
    expect(outcome(`{"__proto__":{"x":1}}`, false)).toMatchObject({ failed: "schema" })
    expect(outcome(`{"a":"x\\" : y","a":1}`, false)).toMatchObject({ duplicates: [{ path: [], key: "a" }] })
  })

  it("the reader's own scan compares keys after unescaping them, and gives the object's path", () => {
    const texts = [
      `{"a":1,"b":{"c":[{"d":1,"d":2}],"c":null},"a":[1,{"x":"}\\"{","x":0}]}`,
      `{"a":1,"\\u0061":2}`,
      `{"a\\"b":1,"a\\u0022b":2, "ab":3}`,
      `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k3":3,"k12":0}`
    ]
    for (const text of texts) {
      const parsed = JsonReader.parseText("x.json", text, { duplicateKeys: "allow" })
      expect(Either.map(parsed, (doc) => doc.duplicates)).toEqual(Either.right(duplicateKeys(text)))
      expect(duplicateKeys(text)).not.toEqual([])
    }
  })

  it.prop(
    "finds a key repeated in any generated object",
    [FastCheck.dictionary(FastCheck.string({ maxLength: 5 }), FastCheck.jsonValue({ maxDepth: 2 }), { minKeys: 1 })],
    ([record]) => {
      const keys = Object.keys(record)
      const key = keys[0] ?? ""
      const text = `${JSON.stringify(record).slice(0, -1)},${JSON.stringify(key)}:true}`
      expect(duplicateKeys(text)).toEqual([{ path: [], key }])
    }
  )
})
