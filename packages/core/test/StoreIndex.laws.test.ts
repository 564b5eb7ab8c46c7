import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import { Descriptor, type DescriptorInput } from "@ocidx/core/Descriptor"
import type * as testing from "@ocidx/core/testing"
import { Data, Effect, FastCheck, Option, Schema } from "effect"
import {
  arbDescriptorInput,
  arbDigest,
  arbRefName,
  deepFreeze,
  entryTexts,
  env,
  fileBytes,
  fileText,
  free,
  imageNameOf,
  imageName,
  indexJson,
  indexPath,
  lockPath,
  provideFresh,
  rawEntry,
  refNameOf,
  seedLayout,
  strayFiles,
  tag,
  tagged
} from "./support/store.js"

// The laws involve no time, so they run live: building the TestClock environment for every run would cost
// more than the runs themselves.
const fast = { fastCheck: { numRuns: 50 } }
const refName = Annotations.refName
const containerdName = Annotations.containerdImageName

const digestsOf = (entries: ReadonlyArray<DescriptorInput>) => entries.map((entry) => entry.digest)

/** Tagged entries an index holds before the law is checked (a tag may repeat, as other tools allow). */
const arbHistory = FastCheck.array(FastCheck.tuple(arbDescriptorInput, arbRefName), { maxLength: 6 })

const seedHistory = (memory: testing.MemoryFileSystem, history: ReadonlyArray<readonly [DescriptorInput, string]>) =>
  seedLayout(memory, indexJson(history.map(([descriptor, refNameValue]) => tagged(descriptor, refNameValue))))

class Boom extends Data.TaggedError("Boom")<{}> {}

describe("StoreIndex laws", () => {
  it.live.prop(
    "put then get(tag) returns the descriptor with the ref-name annotation",
    [arbHistory, arbDescriptorInput, arbRefName],
    ([history, descriptor, refNameValue]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedHistory(memory, history)
        const added = yield* store.put(descriptor, [tag(refNameValue)])
        const expected = tagged(descriptor, refNameValue)
        expect(added).toEqual([expected])
        expect(yield* store.get(refNameValue)).toEqual(Option.some(expected))
        // The entry put last is the last entry.
        expect((yield* store.list).at(-1)).toEqual(expected)
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "the same tag twice leaves exactly one entry for it: the newer",
    [arbHistory, arbDescriptorInput, arbDescriptorInput, arbRefName],
    ([history, first, second, refNameValue]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedHistory(memory, history)
        const before = (yield* store.list).filter((entry) => refNameOf(entry) !== refNameValue)
        yield* store.put(first, [tag(refNameValue)])
        yield* store.put(second, [tag(refNameValue)])
        const entries = yield* store.list
        const forTag = entries.filter((entry) => refNameOf(entry) === refNameValue)
        expect(forTag).toEqual([tagged(second, refNameValue)])
        // Every other entry is still there, in order.
        expect(entries.filter((entry) => refNameOf(entry) !== refNameValue)).toEqual(before)
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "a Name and a bare Tag with the same tag part coexist, and get finds each as buildkit does",
    [arbDigest, arbDigest, arbDigest, FastCheck.boolean()],
    ([nameDigest, tagDigest, newerDigest, nameFirst]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        const fullName = "docker.io/library/alpine:3.20"
        const viaName = { mediaType: "application/vnd.oci.image.index.v1+json", digest: nameDigest, size: 1 }
        const viaTag = { mediaType: "application/vnd.oci.image.index.v1+json", digest: tagDigest, size: 2 }
        const putName = store.put(viaName, [imageName(fullName)])
        const putTag = store.put(viaTag, [tag("3.20")])
        yield* nameFirst ? Effect.zipRight(putName, putTag) : Effect.zipRight(putTag, putName)

        const entries = yield* store.list
        expect(entries).toHaveLength(2)
        const nameEntry = { ...viaName, annotations: { [containerdName]: fullName, [refName]: "3.20" } }
        const tagEntry = { ...viaTag, annotations: { [refName]: "3.20" } }
        expect(yield* store.get(fullName)).toEqual(Option.some(nameEntry))
        // "3.20" is nobody's containerd name, so the first entry whose ref name is 3.20 wins.
        expect(yield* store.get("3.20")).toEqual(Option.some(nameFirst ? nameEntry : tagEntry))

        // Re-putting the bare tag replaces only the bare-tag entry, never the Name entry.
        yield* store.put({ ...viaTag, digest: newerDigest }, [tag("3.20")])
        const after = yield* store.list
        expect(after).toHaveLength(2)
        expect(after.filter((entry) => imageNameOf(entry) === fullName)).toEqual([nameEntry])
        expect(after.filter((entry) => imageNameOf(entry) === undefined).map((entry) => entry.digest)).toEqual([
          newerDigest
        ])
        // And re-putting the Name replaces only the Name entry.
        yield* store.put({ ...viaName, digest: newerDigest }, [imageName(fullName)])
        const last = yield* store.list
        expect(last.map((entry) => [entry.digest, imageNameOf(entry) ?? null])).toEqual([
          [newerDigest, null],
          [newerDigest, fullName]
        ])
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "several names in one put give one entry each",
    [arbDescriptorInput, FastCheck.uniqueArray(arbRefName, { minLength: 1, maxLength: 5 }), FastCheck.boolean()],
    ([descriptor, refNames, withName]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([]))
        const fullName = "registry.example:5000/team/app:release"
        const names = [...refNames.map(tag), ...(withName ? [imageName(fullName)] : [])]
        const added = yield* store.put(descriptor, names)
        const entries = yield* store.list
        expect(added).toHaveLength(names.length)
        expect(entries).toEqual(added)
        expect(entries.map(refNameOf)).toEqual([...refNames, ...(withName ? ["release"] : [])])
        expect(new Set(digestsOf(entries))).toEqual(new Set([descriptor.digest]))
        for (const refNameValue of refNames) {
          expect(Option.map(yield* store.get(refNameValue), refNameOf)).toEqual(Option.some(refNameValue))
        }
        if (withName) expect(Option.map(yield* store.get(fullName), imageNameOf)).toEqual(Option.some(fullName))
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "descriptors and names passed in are never mutated",
    [arbDescriptorInput, FastCheck.uniqueArray(arbRefName, { maxLength: 3 })],
    ([descriptor, refNames]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        seedLayout(memory, indexJson([rawEntry("a", { [refName]: refNames[0] ?? "other" })]))
        const names = refNames.map(tag)
        const snapshot = structuredClone({ descriptor, names })
        deepFreeze(descriptor)
        deepFreeze(names)
        const added = yield* store.put(descriptor, names)
        expect({ descriptor, names }).toEqual(snapshot)
        // What comes back is not the caller's object either.
        for (const entry of added) expect(entry).not.toBe(descriptor)
        yield* store.put(descriptor, names)
        expect({ descriptor, names }).toEqual(snapshot)
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "entries not touched keep their order and content byte-for-byte",
    [
      FastCheck.uniqueArray(arbRefName, { minLength: 1, maxLength: 6 }),
      FastCheck.array(FastCheck.tuple(arbDescriptorInput, arbRefName), { minLength: 1, maxLength: 4 }),
      FastCheck.boolean()
    ],
    ([seededTags, puts, removeOne]) =>
      Effect.gen(function* () {
        const { store, memory } = yield* env
        // Seeded by "another tool": unusual key order, unknown fields at every level.
        const seeded = seededTags.map((refNameValue, i) => ({
          "x-first": [i, { nested: refNameValue }],
          size: 10 + i,
          annotations: { "z.last": "1", [refName]: refNameValue, "a.first": "" },
          digest: `sha256:${i.toString(16).padStart(64, "0")}`,
          platform: { os: "linux", architecture: "arm", variant: "v7", "x-platform": { deep: true } },
          mediaType: "application/vnd.oci.image.manifest.v1+json"
        }))
        seedLayout(memory, indexJson(seeded, { annotations: { "index.note": "kept" }, "x-index": [1, "two"] }))
        const before = entryTexts(memory)
        // New tags live in their own namespace, so they never replace a seeded entry.
        for (const [descriptor, refNameValue] of puts) yield* store.put(descriptor, [tag(`new-${refNameValue}`)])
        let kept = before
        if (removeOne) {
          yield* store.remove([seededTags[0] ?? ""])
          kept = before.slice(1)
        }
        const after = entryTexts(memory)
        expect(after.slice(0, kept.length)).toEqual(kept)
        const parsed = JSON.parse(fileText(memory, indexPath) ?? "")
        expect(parsed.annotations).toEqual({ "index.note": "kept" })
        expect(parsed["x-index"]).toEqual([1, "two"])
      }).pipe(provideFresh()),
    fast
  )

  it.live.prop(
    "modify applies all or nothing: a failing function leaves index.json byte-identical and the lock free",
    [arbHistory, FastCheck.array(FastCheck.tuple(arbDescriptorInput, arbRefName), { maxLength: 4 })],
    ([history, changes]) =>
      Effect.gen(function* () {
        const { store, memory, lock } = yield* env
        seedHistory(memory, history)
        const before = fileBytes(memory, indexPath)
        const error = yield* Effect.flip(
          store.modify((index) =>
            Effect.gen(function* () {
              let next = index
              for (const [descriptor, refNameValue] of changes) {
                const entry = { ...descriptor, annotations: { [refName]: refNameValue } }
                next = { ...next, manifests: [...next.manifests, yield* decodeDescriptor(entry)] }
              }
              next = { ...next, manifests: next.manifests.slice(1) }
              return yield* new Boom()
            })
          )
        )
        expect(error._tag).toBe("Boom")
        expect(fileBytes(memory, indexPath)).toEqual(before)
        expect(strayFiles(memory)).toEqual([])
        expect(lock.holders(lockPath)).toEqual(free)
        // A write that follows succeeds.
        yield* store.put(arbSample, [tag("after")])
        expect(Option.isSome(yield* store.get("after"))).toBe(true)
      }).pipe(provideFresh()),
    fast
  )

  it.effect("modify whose result does not encode writes nothing and fails with DecodeError", () =>
    Effect.gen(function* () {
      const { store, memory, lock } = yield* env
      seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" })]))
      const before = memory.files()
      const good = yield* decodeDescriptor({ ...arbSample, annotations: { [refName]: "fine" } })
      const bad = yield* decodeDescriptor({ ...arbSample, annotations: { [refName]: "not a ref name" } })
      const error = yield* Effect.flip(
        store.modify((index) =>
          Effect.succeed([undefined, { ...index, manifests: [...index.manifests, good, bad] }] as const)
        )
      )
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "schema", path: `${indexPath} (the new index)` })
      expect(error._tag === "DecodeError" && error.issues.map((issue) => issue.path)).toEqual([
        ["manifests", 2, "annotations", refName]
      ])
      expect(memory.files()).toEqual(before)
      expect(lock.holders(lockPath)).toEqual(free)
    }).pipe(provideFresh())
  )

  it.effect("modify with many changes writes them all at once", () =>
    Effect.gen(function* () {
      const { store, memory } = yield* env
      seedLayout(memory, indexJson([rawEntry("a", { [refName]: "v1" })]))
      const result = yield* store.modify((index) =>
        Effect.gen(function* () {
          const added = yield* Effect.forEach(["x", "y", "z"], (refNameValue, i) =>
            decodeDescriptor({
              ...arbSample,
              digest: `sha256:${String(i).repeat(64)}`,
              annotations: { [refName]: refNameValue }
            })
          )
          return [added.length, { ...index, manifests: [...index.manifests.slice(1), ...added] }] as const
        })
      )
      expect(result).toBe(3)
      expect((yield* store.list).map(refNameOf)).toEqual(["x", "y", "z"])
      expect(memory.calls().filter((call) => call.op === "rename")).toHaveLength(1)
    }).pipe(provideFresh())
  )
})

const arbSample: DescriptorInput = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${"e".repeat(64)}`,
  size: 1
}

const decodeDescriptor = Schema.decodeUnknown(Descriptor)
