/**
 * The retention policy as a pure function: from the entries of an index, with their ages and the blobs
 * each reaches, to the entries to remove.
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Annotations from "../../Annotations.js"
import type { Entry, EntrySize, Rules } from "../../Prune.js"

/** Whether `entry` is one a `keep` value names: by containerd name, ref name or digest. @internal */
export const isKept = (entry: Entry, keep: ReadonlyArray<string>): boolean => {
  if (keep.length === 0) return false
  const annotations = entry.descriptor.annotations
  const names = [annotations?.[Annotations.containerdImageName], annotations?.[Annotations.refName]]
  return keep.some((value) => value === entry.descriptor.digest || names.includes(value))
}

/** Newest first: by manifest mtime, an unknown one oldest of all; on a tie, the later in index.json. @internal */
export const newestFirst = (entries: ReadonlyArray<Entry>): ReadonlyArray<Entry> =>
  [...entries].sort((a, b) => {
    const byTime = (b.mtime ?? Number.NEGATIVE_INFINITY) - (a.mtime ?? Number.NEGATIVE_INFINITY)
    return byTime !== 0 && !Number.isNaN(byTime) ? byTime : b.position - a.position
  })

/** A count or byte limit as a whole number >= 0, or none. */
const limit = (value: number | undefined): number | undefined =>
  value === undefined || Number.isNaN(value) ? undefined : Math.max(0, Math.floor(value))

/** The bytes of the distinct blobs `entries` reach, each counted once. @internal */
export const totalSize = (entries: Iterable<Entry>): number => {
  const sizes = new Map<string, number>()
  for (const entry of entries) for (const [digest, size] of entry.blobs) sizes.set(digest, size)
  let total = 0
  for (const size of sizes.values()) total += size
  return total
}

/** @internal */
export const select = (entries: ReadonlyArray<Entry>, rules: Rules, now: number): ReadonlyArray<Entry> => {
  const keep = rules.keep ?? []
  const keepLast = limit(rules.keepLast)
  const maxSize = limit(rules.maxSize)
  const olderThan = rules.olderThan === undefined ? undefined : Duration.toMillis(Duration.decode(rules.olderThan))
  const ordered = newestFirst(entries)
  const removed = new Set<Entry>()

  // keep-last and older-than each keep entries; an entry neither keeps (nor --keep) goes.
  if (keepLast !== undefined || olderThan !== undefined) {
    ordered.forEach((entry, rank) => {
      if (isKept(entry, keep)) return
      if (keepLast !== undefined && rank < keepLast) return
      if (olderThan !== undefined && entry.mtime !== undefined && now - entry.mtime <= olderThan) return
      removed.add(entry)
    })
  }

  // max-size is a ceiling over what is left: oldest first, only --keep stops it.
  if (maxSize !== undefined) {
    const references = new Map<string, number>()
    const sizes = new Map<string, number>()
    let total = 0
    for (const entry of ordered) {
      if (removed.has(entry)) continue
      for (const [digest, size] of entry.blobs) {
        const count = references.get(digest) ?? 0
        if (count === 0) {
          sizes.set(digest, size)
          total += size
        }
        references.set(digest, count + 1)
      }
    }
    for (let i = ordered.length - 1; i >= 0 && total > maxSize; i--) {
      const entry = ordered[i]
      if (entry === undefined || removed.has(entry) || isKept(entry, keep)) continue
      removed.add(entry)
      for (const digest of entry.blobs.keys()) {
        const count = (references.get(digest) ?? 1) - 1
        references.set(digest, count)
        if (count === 0) total -= sizes.get(digest) ?? 0
      }
    }
  }

  return entries.filter((entry) => removed.has(entry))
}

/** @internal */
export const sizes = (entries: ReadonlyArray<Entry>): ReadonlyArray<EntrySize> => {
  const references = new Map<string, number>()
  for (const entry of entries) {
    for (const digest of entry.blobs.keys()) references.set(digest, (references.get(digest) ?? 0) + 1)
  }
  return entries.map((entry) => {
    let total = 0
    let unique = 0
    for (const [digest, size] of entry.blobs) {
      total += size
      if (references.get(digest) === 1) unique += size
    }
    return { descriptor: entry.descriptor, total, unique }
  })
}
