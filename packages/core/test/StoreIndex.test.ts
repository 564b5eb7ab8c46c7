import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import type { DescriptorInput } from "@ocidx/core/Descriptor"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, Option } from "effect"
import {
  digest,
  directory,
  env,
  fileText,
  imageName,
  indexJson,
  indexPath,
  layoutContent,
  layoutPath,
  lockPath,
  manifest,
  paths,
  provideFresh,
  rawEntry,
  seedLayout,
  strayFiles,
  tag,
  tagged,
  writes
} from "./support/store.js"

const refName = Annotations.refName
const containerdName = Annotations.containerdImageName

describe("StoreIndex", () => {
  describe("paths", () => {
    it.effect("are index.json and index.json.lock in the directory", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        expect(store.directory).toBe(directory)
        expect(store.indexPath).toBe(indexPath)
        expect(store.lockPath).toBe(lockPath)
      }).pipe(provideFresh())
    )
  })

  describe("read", () => {
    it.effect("of a missing index.json is ReadError not-found naming index.json", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory)
        const error = yield* Effect.flip(store.read)
        expect(error._tag).toBe("ReadError")
        expect(error.path).toBe(indexPath)
        expect(error._tag === "ReadError" && error.reason).toBe("not-found")
        const listError = yield* Effect.flip(store.list)
        expect(listError._tag).toBe("ReadError")
      }).pipe(provideFresh())
    )

    it.effect("of a missing directory is ReadError not-found naming the directory", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const error = yield* Effect.flip(store.read)
        expect(error).toMatchObject({ _tag: "ReadError", reason: "not-found", path: directory })
        const getError = yield* Effect.flip(store.get("latest"))
        expect(getError).toMatchObject({ _tag: "ReadError", reason: "not-found", path: directory })
      }).pipe(provideFresh())
    )

    it.effect("of a directory that is a file is ReadError not-a-file", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        memory.writeText(directory, "not a directory")
        const error = yield* Effect.flip(store.read)
        expect(error).toMatchObject({ _tag: "ReadError", reason: "not-a-file", path: directory })
      }).pipe(provideFresh())
    )

    it.effect.each([
      { name: "0-byte", content: "" },
      { name: "whitespace", content: " \n\t\r\n  " }
    ])("of a $name index.json is an empty index", ({ content }) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, content)
        const index = yield* store.read
        expect(index.schemaVersion).toBe(2)
        expect(index.manifests).toEqual([])
        expect(yield* store.list).toEqual([])
        expect(yield* store.getSingle).toEqual(Option.none())
        expect(yield* store.get("latest")).toEqual(Option.none())
      }).pipe(provideFresh())
    )

    it.effect("decodes the entries and keeps fields ocidx does not model", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(
          memory,
          indexJson([rawEntry("a", { [refName]: "v1" }, { "x-vendor": { keep: [1, 2] } })], { "x-top": true })
        )
        const index = yield* store.read
        expect(index.manifests).toHaveLength(1)
        expect(index.manifests[0]).toEqual({
          mediaType: MediaType.ociManifest,
          digest: digest("a"),
          size: 7,
          annotations: { [refName]: "v1" },
          "x-vendor": { keep: [1, 2] }
        })
        expect(index).toMatchObject({ "x-top": true })
      }).pipe(provideFresh())
    )
  })

  describe("put", () => {
    it.effect("creates index.json (0644) and oci-layout in a bare directory", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        const fs = yield* FileSystem.FileSystem
        yield* fs.makeDirectory(directory)
        const added = yield* store.put(manifest("a"), [tag("v1")])
        expect(added).toEqual([tagged(manifest("a"), "v1")])
        expect(fileText(memory, layoutPath)).toBe(layoutContent)
        expect(memory.mode(layoutPath)).toBe(0o644)
        expect(memory.mode(indexPath)).toBe(0o644)
        expect(fileText(memory, indexPath)).toBe(
          `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}","manifests":[{"mediaType":"${MediaType.ociManifest}","digest":"${digest("a")}","size":7,"annotations":{"${refName}":"v1"}}]}`
        )
        expect(paths(memory)).toEqual([indexPath, layoutPath])
      }).pipe(provideFresh())
    )

    it.effect("writes an entry's fields in Go's order, unknown ones last", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory)
        const input = {
          "x-extra": { b: 1 },
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
          annotations: { "com.example": "x" },
          size: 3,
          digest: digest("c"),
          mediaType: MediaType.ociManifest
        }
        yield* store.put(input, [tag("v1")])
        const text = fileText(memory, indexPath) ?? ""
        const entry = text.slice(text.indexOf(`"manifests":[`) + 13, -2)
        expect(Object.keys(JSON.parse(entry))).toEqual([
          "mediaType",
          "digest",
          "size",
          "annotations",
          "platform",
          "x-extra"
        ])
        expect(JSON.parse(entry)["x-extra"]).toEqual({ b: 1 })
      }).pipe(provideFresh())
    )

    it.effect("keeps the mode of an existing index.json", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory)
        memory.writeText(indexPath, indexJson([]), 0o600)
        yield* store.put(manifest("a"), [tag("v1")])
        expect(memory.mode(indexPath)).toBe(0o600)
        yield* store.put(manifest("b"), [tag("v2")])
        expect(memory.mode(indexPath)).toBe(0o600)
        expect((yield* store.list).map((entry) => entry.digest)).toEqual([digest("a"), digest("b")])
      }).pipe(provideFresh())
    )

    it.effect("into an empty (0-byte) index.json writes a valid index", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, "")
        yield* store.put(manifest("a"), [tag("v1")])
        expect(JSON.parse(fileText(memory, indexPath) ?? "")).toMatchObject({ schemaVersion: 2, manifests: [{}] })
      }).pipe(provideFresh())
    )

    it.effect("without a name adds one untagged entry, once per digest", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        expect(yield* store.put(manifest("a"))).toEqual([manifest("a")])
        yield* store.put(manifest("a"))
        yield* store.put(manifest("b"))
        const entries = yield* store.list
        expect(entries).toEqual([manifest("a"), manifest("b")])
      }).pipe(provideFresh())
    )

    it.effect("with a Name sets the containerd name and the tag part as ref name", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        const added = yield* store.put(manifest("a"), [imageName("docker.io/library/alpine:3.20")])
        expect(added).toEqual([
          {
            ...manifest("a"),
            annotations: { [containerdName]: "docker.io/library/alpine:3.20", [refName]: "3.20" }
          }
        ])
        expect(yield* store.list).toEqual(added)
      }).pipe(provideFresh())
    )

    it.effect("validates the descriptor: a bad digest is a DecodeError and nothing is written", () =>
      Effect.gen(function* () {
        const { store, memory, lock } = yield* env
        seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" })]))
        const before = memory.files()
        const error = yield* Effect.flip(store.put({ ...manifest("b"), digest: "sha256:nothex" }, [tag("v2")]))
        if (error._tag !== "DecodeError") return expect.fail(`expected DecodeError, got ${error._tag}`)
        expect(error.path).toBe("the descriptor given to put")
        expect(error.reason).toBe("schema")
        expect(error.issues.map((issue) => issue.path)).toEqual([["digest"]])
        expect(memory.files()).toEqual(before)
        expect(writes(memory)).toEqual([])
        expect(lock.events()).toEqual([])
      }).pipe(provideFresh())
    )

    it.effect("reports every invalid field of the descriptor", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        const error = yield* Effect.flip(store.put({ mediaType: "not a media type", digest: "sha256:00", size: -1 }))
        if (error._tag !== "DecodeError") return expect.fail(`expected DecodeError, got ${error._tag}`)
        expect(error.issues.map((issue) => issue.path).sort()).toEqual([["digest"], ["mediaType"], ["size"]])
        expect(writes(memory)).toEqual([])
      }).pipe(provideFresh())
    )

    it.effect("refuses an input ref-name annotation that is not a valid ref name, writing nothing", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        const before = memory.files()
        const error = yield* Effect.flip(store.put({ ...manifest("a"), annotations: { [refName]: "not valid!" } }))
        expect(error).toMatchObject({ _tag: "DecodeError", reason: "schema" })
        expect(memory.files()).toEqual(before)
        expect(strayFiles(memory)).toEqual([])
      }).pipe(provideFresh())
    )
  })

  describe("get", () => {
    // Entries built so that each rule has a decoy earlier in the index that a lower-precedence rule matches.
    const precedenceIndex = indexJson([
      rawEntry("1", { [refName]: "docker.io/library/app:1" }),
      rawEntry("2", { [containerdName]: "docker.io/library/app:1", [refName]: "1" }),
      rawEntry("3", { [refName]: digest("4") }),
      rawEntry("4"),
      rawEntry("5", { [refName]: "1" })
    ])

    it.effect("prefers a containerd name over an earlier ref name", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, precedenceIndex)
        const found = yield* store.get("docker.io/library/app:1")
        expect(Option.map(found, (entry) => entry.digest)).toEqual(Option.some(digest("2")))
      }).pipe(provideFresh())
    )

    it.effect("then the first ref name", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, precedenceIndex)
        const found = yield* store.get("1")
        expect(Option.map(found, (entry) => entry.digest)).toEqual(Option.some(digest("2")))
      }).pipe(provideFresh())
    )

    it.effect("prefers a ref name over a digest, then the digest", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, precedenceIndex)
        const byRefName = yield* store.get(digest("4"))
        expect(Option.map(byRefName, (entry) => entry.digest)).toEqual(Option.some(digest("3")))
        const byDigest = yield* store.get(digest("5"))
        expect(Option.map(byDigest, (entry) => entry.digest)).toEqual(Option.some(digest("5")))
        expect(yield* store.get(digest("6"))).toEqual(Option.none())
        expect(yield* store.get("missing")).toEqual(Option.none())
      }).pipe(provideFresh())
    )

    it.effect("reads under a shared lock", () =>
      Effect.gen(function* () {
        const { store, memory, lock } = yield* env
        seedLayout(memory, precedenceIndex)
        yield* store.get("1")
        expect(lock.events().map(({ event, mode }) => `${mode} ${event}`)).toEqual([
          "shared acquired",
          "shared released"
        ])
      }).pipe(provideFresh())
    )
  })

  describe("list and getSingle", () => {
    it.effect("list returns the entries in order", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([rawEntry("c"), rawEntry("a"), rawEntry("b")]))
        expect((yield* store.list).map((entry) => entry.digest)).toEqual([digest("c"), digest("a"), digest("b")])
      }).pipe(provideFresh())
    )

    it.effect("getSingle is the entry when there is exactly one", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" })]))
        const single = yield* store.getSingle
        expect(Option.map(single, (entry) => entry.digest)).toEqual(Option.some(digest("a")))
      }).pipe(provideFresh())
    )

    it.effect.each([
      { name: "no entries", manifests: [] },
      { name: "two entries", manifests: [rawEntry("a"), rawEntry("b")] },
      { name: "three entries", manifests: [rawEntry("a"), rawEntry("a", { [refName]: "x" }), rawEntry("b")] }
    ])("getSingle is None with $name", ({ manifests }) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson(manifests))
        expect(yield* store.getSingle).toEqual(Option.none())
      }).pipe(provideFresh())
    )
  })

  describe("remove", () => {
    const seeded = indexJson([
      rawEntry("a", { [refName]: "v1" }),
      rawEntry("b", { [containerdName]: "docker.io/library/app:v2", [refName]: "v2" }),
      rawEntry("c", { [refName]: "v3" }),
      rawEntry("c", { [refName]: "v3-copy" })
    ])

    it.effect("returns what it removed, by tag, containerd name and digest", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, seeded)
        const removed = yield* store.remove(["v1", "docker.io/library/app:v2"])
        expect(removed.map((entry) => entry.digest)).toEqual([digest("a"), digest("b")])
        expect((yield* store.list).map(refNameOrNone)).toEqual(["v3", "v3-copy"])
        const byDigest = yield* store.remove([digest("c")])
        expect(byDigest.map(refNameOrNone)).toEqual(["v3", "v3-copy"])
        expect(yield* store.list).toEqual([])
        expect(JSON.parse(fileText(memory, indexPath) ?? "")).toEqual({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: []
        })
      }).pipe(provideFresh())
    )

    it.effect("of a missing name removes nothing and writes nothing", () =>
      Effect.gen(function* () {
        const { store, memory, lock } = yield* env
        seedLayout(memory, seeded)
        const before = memory.files()
        expect(yield* store.remove(["nope", digest("f")])).toEqual([])
        expect(yield* store.remove([])).toEqual([])
        expect(memory.calls().filter((call) => call.op === "rename")).toEqual([])
        expect(writes(memory)).toEqual([])
        expect(memory.files()).toEqual(before)
        // It still took the exclusive lock to look.
        expect(
          lock
            .events()
            .filter((event) => event.event === "acquired")
            .map((event) => event.mode)
        ).toEqual(["exclusive", "exclusive"])
      }).pipe(provideFresh())
    )

    it.effect("of a tag also carried by a Name entry removes only what get finds (the first rule that matches)", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(
          memory,
          indexJson([
            rawEntry("a", { [refName]: "3.20" }),
            rawEntry("b", { [containerdName]: "docker.io/library/alpine:3.20", [refName]: "3.20" })
          ])
        )
        const removed = yield* store.remove(["docker.io/library/alpine:3.20"])
        expect(removed.map((entry) => entry.digest)).toEqual([digest("b")])
        expect((yield* store.list).map((entry) => entry.digest)).toEqual([digest("a")])
      }).pipe(provideFresh())
    )
  })

  describe("modify", () => {
    it.effect("returning the same index writes nothing", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" })]))
        const count = yield* store.modify((index) => Effect.succeed([index.manifests.length, index] as const))
        expect(count).toBe(1)
        expect(writes(memory)).toEqual([])
      }).pipe(provideFresh())
    )

    it.effect("writes the index it returns, under the exclusive lock", () =>
      Effect.gen(function* () {
        const { store, memory, lock } = yield* env
        seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" }), rawEntry("b", { [refName]: "v2" })]))
        yield* store.modify((index) =>
          Effect.succeed([undefined, { ...index, manifests: [...index.manifests].reverse() }] as const)
        )
        expect((yield* store.list).map(refNameOrNone)).toEqual(["v2", "v1"])
        expect(lock.events().map(({ event, mode }) => `${mode} ${event}`)).toEqual([
          "exclusive acquired",
          "exclusive released",
          "shared acquired",
          "shared released"
        ])
      }).pipe(provideFresh())
    )

    it.effect("sees an empty index when index.json is missing, and creates nothing when unchanged", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory)
        const seen = yield* store.modify((index) => Effect.succeed([index, index] as const))
        expect(seen).toEqual(ImageIndex.empty)
        expect(fileText(memory, indexPath)).toBeUndefined()
      }).pipe(provideFresh())
    )

    it.effect("init creates a missing index.json as an empty index, and leaves an existing one alone", () =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory)
        yield* store.init
        expect(JSON.parse(fileText(memory, indexPath) ?? "")).toEqual({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: []
        })
        const before = fileText(memory, indexPath)
        yield* store.init
        expect(fileText(memory, indexPath)).toBe(before)
      }).pipe(provideFresh())
    )
  })
})

const refNameOrNone = (entry: DescriptorInput): string => entry.annotations?.[refName] ?? "<none>"
