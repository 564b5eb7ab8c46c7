import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import { Descriptor } from "@ocidx/core/Descriptor"
import * as MediaType from "@ocidx/core/MediaType"
import * as Prune from "@ocidx/core/Prune"
import { FastCheck as fc, Schema } from "effect"
import { digest } from "./support/store.js"

const decode = Schema.decodeSync(Descriptor)
const now = 1_800_000_000_000
const hour = 3_600_000

/** Blobs an entry may reach: a small pool, so entries share some. */
const pool = Array.from({ length: 8 }, (_, i) => ({ digest: digest(0xb0 + i), size: (i + 1) * 100 }))
const tags = ["main", "dev", "v1", "v2", "pr-1"] as const

interface Spec {
  readonly tag: string | undefined
  readonly name: string | undefined
  /** Hours before `now`; undefined = the manifest blob is missing. A small range, so ties happen. */
  readonly hoursAgo: number | undefined
  readonly shared: ReadonlyArray<number>
  readonly manifestSeed: number
}

const arbSpec: fc.Arbitrary<Spec> = fc.record({
  tag: fc.option(fc.constantFrom(...tags), { nil: undefined }),
  name: fc.option(fc.constantFrom("docker.io/x/app:main", "example.com/cache:dev"), { nil: undefined }),
  hoursAgo: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined, freq: 8 }),
  shared: fc.uniqueArray(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 4 }),
  // A few seeds only: two entries with one manifest (two tags of one image) happen too.
  manifestSeed: fc.integer({ min: 0, max: 9 })
})

const entriesOf = (specs: ReadonlyArray<Spec>): ReadonlyArray<Prune.Entry> =>
  specs.map((spec, position) => {
    const annotations: Record<string, string> = {}
    if (spec.tag !== undefined) annotations[Annotations.refName] = spec.tag
    if (spec.name !== undefined) annotations[Annotations.containerdImageName] = spec.name
    const manifestDigest = digest(0xa0 + spec.manifestSeed)
    const descriptor = decode({
      mediaType: MediaType.ociManifest,
      digest: manifestDigest,
      size: 50 + spec.manifestSeed,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {})
    })
    const blobs = new Map<string, number>([[manifestDigest, 50 + spec.manifestSeed]])
    for (const i of spec.shared) {
      const blob = pool[i]
      if (blob) blobs.set(blob.digest, blob.size)
    }
    return { descriptor, position, mtime: spec.hoursAgo === undefined ? undefined : now - spec.hoursAgo * hour, blobs }
  })

const arbEntries = fc.array(arbSpec, { maxLength: 12 }).map(entriesOf)
const arbKeep = fc.uniqueArray(fc.constantFrom(...tags, "docker.io/x/app:main", digest(0xa3)), { maxLength: 3 })

/** The test's own reading of "kept": containerd name, ref name or digest equal to a --keep value. */
const kept = (entry: Prune.Entry, keep: ReadonlyArray<string>): boolean =>
  keep.some(
    (value) =>
      value === entry.descriptor.digest ||
      value === entry.descriptor.annotations?.[Annotations.refName] ||
      value === entry.descriptor.annotations?.[Annotations.containerdImageName]
  )

/** Newest first: mtime descending (missing = oldest), then the later position. */
const byAge = (entries: ReadonlyArray<Prune.Entry>): ReadonlyArray<Prune.Entry> =>
  [...entries].sort((a, b) => {
    const ta = a.mtime ?? Number.NEGATIVE_INFINITY
    const tb = b.mtime ?? Number.NEGATIVE_INFINITY
    if (ta !== tb) return tb > ta ? 1 : -1
    return b.position - a.position
  })

const positions = (entries: ReadonlyArray<Prune.Entry>) => entries.map((entry) => entry.position)
const without = (entries: ReadonlyArray<Prune.Entry>, removed: ReadonlyArray<Prune.Entry>) =>
  entries.filter((entry) => !removed.includes(entry))

/** Bytes of the distinct blobs, counted by the test itself. */
const bytes = (entries: ReadonlyArray<Prune.Entry>): number => {
  const seen = new Map<string, number>()
  for (const entry of entries) for (const [d, size] of entry.blobs) seen.set(d, size)
  return [...seen.values()].reduce((sum, size) => sum + size, 0)
}

const arbRules: fc.Arbitrary<Prune.Rules> = fc.record(
  {
    keep: arbKeep,
    keepLast: fc.integer({ min: 0, max: 8 }),
    olderThan: fc.integer({ min: 0, max: 7 }).map((hours) => hours * hour),
    maxSize: fc.integer({ min: 0, max: 3000 })
  },
  { requiredKeys: ["keep"] }
)

describe("Prune.select", () => {
  it.prop(
    "never removes an entry --keep names, whatever the other rules",
    [arbEntries, arbRules],
    ([entries, rules]) => {
      const removed = Prune.select(entries, rules, now)
      for (const entry of removed) expect(kept(entry, rules.keep ?? [])).toBe(false)
    }
  )

  it.prop("returns entries of the input, each once, in index order", [arbEntries, arbRules], ([entries, rules]) => {
    const removed = Prune.select(entries, rules, now)
    expect(new Set(removed).size).toBe(removed.length)
    for (const entry of removed) expect(entries).toContain(entry)
    expect(positions(removed)).toEqual([...positions(removed)].sort((a, b) => a - b))
  })

  it.prop("without --keep-last, --older-than or --max-size nothing goes", [arbEntries, arbKeep], ([entries, keep]) => {
    expect(Prune.select(entries, { keep }, now)).toEqual([])
  })

  it.prop(
    "--keep-last n leaves exactly the n newest plus the kept ones",
    [arbEntries, arbKeep, fc.integer({ min: 0, max: 14 })],
    ([entries, keep, n]) => {
      const left = without(entries, Prune.select(entries, { keep, keepLast: n }, now))
      const expected = byAge(entries).filter((entry, rank) => rank < n || kept(entry, keep))
      expect(positions(left).sort((a, b) => a - b)).toEqual(positions(expected).sort((a, b) => a - b))
    }
  )

  it.prop(
    "--older-than d removes exactly the entries older than d (or of unknown age) that are not kept",
    [arbEntries, arbKeep, fc.integer({ min: 0, max: 7 })],
    ([entries, keep, hours]) => {
      const removed = Prune.select(entries, { keep, olderThan: `${hours} hours` }, now)
      const expected = entries.filter(
        (entry) => !kept(entry, keep) && (entry.mtime === undefined || now - entry.mtime > hours * hour)
      )
      expect(positions(removed)).toEqual(positions(expected))
    }
  )

  it.prop(
    "--keep-last with --older-than keeps what either keeps",
    [arbEntries, arbKeep, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 7 })],
    ([entries, keep, n, hours]) => {
      const removed = Prune.select(entries, { keep, keepLast: n, olderThan: hours * hour }, now)
      const ranked = byAge(entries)
      const expected = entries.filter((entry) => {
        const young = entry.mtime !== undefined && now - entry.mtime <= hours * hour
        return !kept(entry, keep) && ranked.indexOf(entry) >= n && !young
      })
      expect(positions(removed)).toEqual(positions(expected))
    }
  )

  it.prop(
    "--max-size removes oldest first until what is left fits, or only kept entries are left",
    [arbEntries, arbKeep, fc.integer({ min: 0, max: 3000 })],
    ([entries, keep, maxSize]) => {
      const removed = Prune.select(entries, { keep, maxSize }, now)
      const left = without(entries, removed)
      // It fits, or nothing removable is left.
      expect(bytes(left) <= maxSize || left.every((entry) => kept(entry, keep))).toBe(true)
      // What went is the oldest of the removable entries, in age order.
      const removable = [...byAge(entries)].reverse().filter((entry) => !kept(entry, keep))
      expect(positions(removable.slice(0, removed.length)).sort((a, b) => a - b)).toEqual(positions(removed))
      // And no more than needed: with the youngest of them back, it would not fit.
      const last = removable[removed.length - 1]
      if (last !== undefined) expect(bytes([...left, last])).toBeGreaterThan(maxSize)
      expect(Prune.totalSize(left)).toBe(bytes(left))
    }
  )

  it.prop(
    "--max-size is a ceiling over --keep-last and --older-than, never over --keep",
    [arbEntries, arbRules],
    ([entries, rules]) => {
      const removed = Prune.select(entries, rules, now)
      const left = without(entries, removed)
      if (rules.maxSize !== undefined) {
        expect(bytes(left) <= rules.maxSize || left.every((entry) => kept(entry, rules.keep ?? []))).toBe(true)
      }
      // Everything the rules without max-size remove is removed with it too.
      const { maxSize: _, ...withoutMax } = rules
      for (const entry of Prune.select(entries, withoutMax, now)) expect(removed).toContain(entry)
    }
  )

  it("a worked example: keep main, keep the 2 newest, and stay under 1000 bytes", () => {
    const entry = (
      position: number,
      tag: string,
      hoursAgo: number,
      blobs: ReadonlyArray<readonly [string, number]>
    ) => ({
      descriptor: decode({
        mediaType: MediaType.ociManifest,
        digest: digest(`e${position}`),
        size: 10,
        annotations: { [Annotations.refName]: tag }
      }),
      position,
      mtime: now - hoursAgo * hour,
      blobs: new Map(blobs)
    })
    const entries = [
      entry(0, "main", 10, [
        ["base", 400],
        ["main", 100]
      ]),
      entry(1, "pr-1", 5, [
        ["base", 400],
        ["pr-1", 300]
      ]),
      entry(2, "pr-2", 3, [
        ["base", 400],
        ["pr-2", 300]
      ]),
      entry(3, "pr-3", 2, [
        ["base", 400],
        ["pr-3", 300]
      ]),
      entry(4, "pr-4", 1, [
        ["base", 400],
        ["pr-4", 300]
      ])
    ]
    const tagsOf = (chosen: ReadonlyArray<Prune.Entry>) =>
      chosen.map((chosenEntry) => chosenEntry.descriptor.annotations?.[Annotations.refName])
    expect(tagsOf(Prune.select(entries, { keep: ["main"], keepLast: 2 }, now))).toEqual(["pr-1", "pr-2"])
    // 400 + 100 + 300 + 300 = 1100 > 1000: pr-3, the older of the two newest, goes too.
    expect(tagsOf(Prune.select(entries, { keep: ["main"], keepLast: 2, maxSize: 1000 }, now))).toEqual([
      "pr-1",
      "pr-2",
      "pr-3"
    ])
    // Only main is kept and it alone is 500 bytes: everything else goes, and main stays although it is over.
    expect(tagsOf(Prune.select(entries, { keep: ["main"], maxSize: 100 }, now))).toEqual([
      "pr-1",
      "pr-2",
      "pr-3",
      "pr-4"
    ])
    expect(Prune.sizes(entries).map(({ total, unique }) => [total, unique])).toEqual([
      [500, 100],
      [700, 300],
      [700, 300],
      [700, 300],
      [700, 300]
    ])
  })
})

describe("Prune.sizes", () => {
  it("two entries for one manifest share every blob: neither has unique bytes", () => {
    const descriptor = decode({ mediaType: MediaType.ociManifest, digest: digest("a"), size: 10 })
    const blobs = new Map([
      [digest("a"), 10],
      [digest("b"), 90]
    ])
    const entries = [
      { descriptor, position: 0, mtime: now, blobs },
      { descriptor, position: 1, mtime: now, blobs }
    ]
    expect(Prune.sizes(entries).map(({ total, unique }) => ({ total, unique }))).toEqual([
      { total: 100, unique: 0 },
      { total: 100, unique: 0 }
    ])
    expect(Prune.totalSize(entries)).toBe(100)
  })

  it.prop("unique bytes are what removing that entry alone frees", [arbEntries], ([entries]) => {
    const all = bytes(entries)
    Prune.sizes(entries).forEach((size, i) => {
      const entry = entries[i]
      if (entry === undefined) return
      expect(size.total).toBe(bytes([entry]))
      expect(size.unique).toBe(all - bytes(without(entries, [entry])))
    })
  })
})
