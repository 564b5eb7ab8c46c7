import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Descriptor } from "@ocidx/core/Descriptor"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, Option } from "effect"
import {
  blobPath,
  blobsDir,
  decoded,
  directory,
  env,
  indexPath,
  LayoutBuilder,
  layoutContent,
  layoutPath,
  multiArch,
  provideFresh,
  writeLayout
} from "./support/layouts.js"

const mutatingCalls = (calls: ReadonlyArray<{ readonly op: string; readonly path: string }>) =>
  calls.filter((call) => !["readFile", "stat", "readDirectory", "open-read"].includes(call.op))

describe("Layout", () => {
  describe("init", () => {
    it.effect("creates the directory, blobs/, oci-layout and an empty index.json", () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env
        const fs = yield* FileSystem.FileSystem
        yield* layout.init
        expect((yield* fs.stat(blobsDir)).type).toBe("Directory")
        expect(memory.readText(layoutPath)).toBe(layoutContent)
        expect(JSON.parse(memory.readText(indexPath) ?? "")).toEqual({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: []
        })
        expect(memory.mode(indexPath)).toBe(0o644)
        const report = yield* layout.verify()
        expect(report).toEqual({ ok: true, findings: [], blobsChecked: 0, bytesChecked: 0 })
      }).pipe(provideFresh)
    )

    it.effect("is idempotent: a second init writes nothing and keeps an existing index", () =>
      Effect.gen(function* () {
        const { builder } = multiArch()
        yield* writeLayout(builder)
        const { layout, memory } = yield* env
        const before = memory.files()
        const calls = memory.calls().length
        yield* layout.init
        yield* layout.init
        expect(memory.files()).toEqual(before)
        expect(mutatingCalls(memory.calls().slice(calls)).filter((call) => call.op !== "makeDirectory")).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("completes a half-made layout: adds oci-layout and blobs/ without touching index.json", () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env
        const index = `{"schemaVersion":2,"manifests":[]}`
        memory.writeText(indexPath, index)
        yield* layout.init
        expect(memory.readText(indexPath)).toBe(index)
        expect(memory.readText(layoutPath)).toBe(layoutContent)
      }).pipe(provideFresh)
    )

    it.effect("refuses a layout of another version: DecodeError unsupported-version, nothing written", () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env
        memory.writeText(layoutPath, `{"imageLayoutVersion":"2.0.0"}`)
        const error = yield* layout.init.pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "DecodeError", reason: "unsupported-version", path: layoutPath })
        expect(memory.readText(indexPath)).toBeUndefined()
        expect(memory.readText(layoutPath)).toBe(`{"imageLayoutVersion":"2.0.0"}`)
      }).pipe(provideFresh)
    )

    it.effect("a read-only file system: WriteError read-only", () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env
        memory.setReadOnly(true)
        const error = yield* layout.init.pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "WriteError", reason: "read-only" })
      }).pipe(provideFresh)
    )
  })

  describe("content", () => {
    it.effect("decodes manifests and nested indexes by media type, and leaves other blobs alone", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        yield* writeLayout(fixture.builder)
        const { layout } = yield* env
        const index = yield* layout.content(decoded(fixture.index))
        expect(index._tag).toBe("Index")
        if (index._tag === "Index") expect(index.index.manifests.map((entry) => entry.digest)).toHaveLength(5)
        const manifest = yield* layout.content(decoded(fixture.single.manifest))
        expect(manifest._tag === "Manifest" && manifest.manifest.config.digest).toBe(fixture.single.config.digest)
        expect((yield* layout.content(decoded(fixture.single.config)))._tag).toBe("Other")
      }).pipe(provideFresh)
    )
  })

  describe("resolve", () => {
    it.effect("by tag without a platform: the entry itself (the nested index)", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        yield* writeLayout(fixture.builder)
        const { layout } = yield* env
        const found = yield* layout.resolve("multi")
        expect(Option.map(found, (d) => d.digest)).toEqual(Option.some(fixture.index.digest))
        expect(Option.map(yield* layout.resolve("single"), (d) => d.digest)).toEqual(
          Option.some(fixture.single.manifest.digest)
        )
        expect(yield* layout.resolve("absent")).toEqual(Option.none())
        expect(yield* layout.resolve("absent", { platform: { os: "linux", architecture: "amd64" } })).toEqual(
          Option.none()
        )
      }).pipe(provideFresh)
    )

    it.effect("by tag and platform: descends the nested index; the first match wins", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        yield* writeLayout(fixture.builder)
        const { layout } = yield* env
        const digestFor = (os: string, architecture: string, variant?: string) =>
          layout
            .resolve("multi", {
              platform: variant === undefined ? { os, architecture } : { os, architecture, variant }
            })
            .pipe(Effect.map(Option.map((descriptor) => descriptor.digest)))
        // Two amd64 entries: the first one.
        expect(yield* digestFor("linux", "amd64")).toEqual(Option.some(fixture.amd64.manifest.digest))
        // arm64 without a variant matches the first arm64 entry (which states none).
        expect(yield* digestFor("linux", "arm64")).toEqual(Option.some(fixture.arm64.manifest.digest))
        // arm64/v8 matches it too: an arm64 entry without a variant is v8.
        expect(yield* digestFor("linux", "arm64", "v8")).toEqual(Option.some(fixture.arm64.manifest.digest))
        expect(yield* digestFor("linux", "arm", "v7")).toEqual(Option.some(fixture.armv7.manifest.digest))
        expect(yield* digestFor("linux", "arm")).toEqual(Option.some(fixture.armv7.manifest.digest))
        expect(yield* digestFor("linux", "arm", "v6")).toEqual(Option.none())
        expect(yield* digestFor("linux", "s390x")).toEqual(Option.none())
        expect(yield* digestFor("windows", "amd64")).toEqual(Option.none())
      }).pipe(provideFresh)
    )

    it.effect("arm64/v8 with the explicit-variant entry first picks that one", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const v8 = builder.image({ layers: ["v8"], platform: { os: "linux", architecture: "arm64", variant: "v8" } })
        const plain = builder.image({ layers: ["plain"], platform: { os: "linux", architecture: "arm64" } })
        builder.add(builder.index([v8.manifest, plain.manifest]), ["t"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        const found = yield* layout.resolve("t", { platform: { os: "linux", architecture: "arm64" } })
        expect(Option.map(found, (d) => d.digest)).toEqual(Option.some(v8.manifest.digest))
        const v7 = yield* layout.resolve("t", { platform: { os: "linux", architecture: "arm64", variant: "v7" } })
        expect(v7).toEqual(Option.none())
      }).pipe(provideFresh)
    )

    it.effect("a top-level entry with a platform is matched directly", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const image = builder.image({ layers: ["x"], platform: { os: "linux", architecture: "amd64" } })
        builder.add(image.manifest, ["t"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        expect(Option.isSome(yield* layout.resolve("t", { platform: { os: "linux", architecture: "amd64" } }))).toBe(
          true
        )
        expect(yield* layout.resolve("t", { platform: { os: "linux", architecture: "arm64" } })).toEqual(Option.none())
      }).pipe(provideFresh)
    )

    it.effect("a nested index that cannot be read fails with its typed error", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        yield* writeLayout(fixture.builder)
        const { layout, memory } = yield* env
        memory.writeText(blobPath(fixture.index.digest), "{}")
        const error = yield* layout
          .resolve("multi", { platform: { os: "linux", architecture: "amd64" } })
          .pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "DigestMismatch", path: blobPath(fixture.index.digest) })
      }).pipe(provideFresh)
    )
  })

  describe("reachable", () => {
    it.effect("holds the nested index, every manifest, config and layer, the artifact and its subject", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        const garbage = fixture.builder.layer("garbage")
        yield* writeLayout(fixture.builder)
        const { layout } = yield* env
        const reachable: ReadonlyMap<string, Descriptor> = yield* layout.reachable
        const expected = [...fixture.builder.blobs.keys()].filter((digest) => digest !== garbage.digest)
        expect([...reachable.keys()].sort()).toEqual(expected.sort())
        for (const image of [fixture.amd64, fixture.amd64Again, fixture.arm64, fixture.arm64v8, fixture.armv7]) {
          expect(reachable.has(image.manifest.digest)).toBe(true)
          expect(reachable.has(image.config.digest)).toBe(true)
          for (const layer of image.layers) expect(reachable.has(layer.digest)).toBe(true)
        }
        expect(reachable.has(fixture.index.digest)).toBe(true)
        expect(reachable.has(fixture.signature.digest)).toBe(true)
        expect(reachable.get(fixture.emptyConfig.digest)?.mediaType).toBe(MediaType.ociEmpty)
      }).pipe(provideFresh)
    )

    it.effect("follows a subject that only a manifest names", () =>
      Effect.gen(function* () {
        const builder = new LayoutBuilder()
        const base = builder.image({ layers: ["base"] })
        const referrer = builder.manifest({ config: builder.config(), layers: [], subject: base.manifest })
        builder.add(referrer, ["sig"])
        yield* writeLayout(builder)
        const { layout } = yield* env
        const reachable: ReadonlyMap<string, Descriptor> = yield* layout.reachable
        expect(reachable.has(base.manifest.digest)).toBe(true)
        expect(reachable.has(base.layers[0]?.digest ?? "")).toBe(true)
        expect([...reachable.keys()].sort()).toEqual([...builder.blobs.keys()].sort())
      }).pipe(provideFresh)
    )

    it.effect("a reachable manifest that cannot be read: UnreadableManifest naming it", () =>
      Effect.gen(function* () {
        const fixture = multiArch()
        yield* writeLayout(fixture.builder)
        const { layout } = yield* env
        const fs = yield* FileSystem.FileSystem
        yield* fs.remove(blobPath(fixture.arm64.manifest.digest))
        const error = yield* layout.reachable.pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "UnreadableManifest", digest: fixture.arm64.manifest.digest })
        if (error._tag === "UnreadableManifest") expect(error.cause).toMatchObject({ _tag: "BlobNotFound" })
      }).pipe(provideFresh)
    )

    it.effect("a missing index.json: ReadError not-found", () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env
        memory.writeText(`${directory}/oci-layout`, layoutContent)
        const error = yield* layout.reachable.pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "ReadError", reason: "not-found", path: indexPath })
      }).pipe(provideFresh)
    )
  })
})
