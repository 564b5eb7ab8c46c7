/**
 * Retention: which index entries to remove by policy (`--keep`, `--keep-last`, `--older-than`, `--max-size`),
 * and what each entry costs. `select` is the policy as a pure function; `Layout.prune` applies it under the
 * exclusive index lock and then collects what became unreachable, as `Layout.gc` does.
 *
 * How the rules combine:
 * - an entry named by `keep` (its containerd name, ref name or digest) is never removed;
 * - `keepLast` and `olderThan` each keep entries: the `keepLast` newest, and those no older than
 *   `olderThan`. When either is given, an entry that none of them keeps is removed;
 * - `maxSize` is then a ceiling over what is left: the oldest entries not named by `keep` are removed, one
 *   by one, until the blobs the rest reach (each blob counted once) fit in `maxSize` bytes, or only kept
 *   entries remain. It overrides `keepLast` and `olderThan`, never `keep`.
 *
 * An entry's age is its manifest blob's mtime; one whose blob is missing counts as the oldest. Entries with
 * the same mtime are ordered by their place in index.json (a later entry is newer, as put appends).
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import type { Descriptor } from "./Descriptor.js"
import * as internal from "./internal/prune/policy.js"

/**
 * One index entry as the policy sees it.
 *
 * @since 0.1.0
 * @category model
 */
export interface Entry {
  readonly descriptor: Descriptor
  /** Its place in index.json, from 0. */
  readonly position: number
  /** Its manifest blob's mtime in milliseconds since the epoch; `undefined` when unknown (blob missing). */
  readonly mtime: number | undefined
  /** Every blob it reaches, its own manifest included: digest to size in bytes. */
  readonly blobs: ReadonlyMap<string, number>
}

/**
 * The retention rules. Without `keepLast`, `olderThan` and `maxSize`, nothing is removed.
 *
 * @since 0.1.0
 * @category model
 */
export interface Rules {
  /** Names, tags or digests whose entries are never removed. */
  readonly keep?: ReadonlyArray<string> | undefined
  /** Keep the `keepLast` newest entries (a whole number >= 0). */
  readonly keepLast?: number | undefined
  /** Keep the entries no older than this. */
  readonly olderThan?: Duration.DurationInput | undefined
  /** Then remove the oldest until the entries left reach at most this many bytes. */
  readonly maxSize?: number | undefined
}

/**
 * What an entry costs: the bytes of every blob it reaches, and of those no other entry reaches (what
 * removing it alone would free).
 *
 * @since 0.1.0
 * @category model
 */
export interface EntrySize {
  readonly descriptor: Descriptor
  readonly total: number
  readonly unique: number
}

/**
 * @since 0.1.0
 * @category model
 */
export interface PruneOptions extends Rules {
  /** Report what would be removed; change nothing (under the shared lock). */
  readonly dryRun?: boolean | undefined
  /** gc's grace period for the blobs it collects afterwards (see `GcOptions.grace`). Default one hour. */
  readonly grace?: Duration.DurationInput | undefined
  /**
   * As `GcOptions.force`: go on when a reachable manifest cannot be read (the entry is then judged by what
   * could be read, and the blobs only it references may go), or when index.json is blank.
   */
  readonly force?: boolean | undefined
}

/**
 * What a prune removed (or, in a dry run, would remove): the entries, then the blobs gc collected and their
 * bytes. Blobs younger than the grace period stay for a later gc; blobs that were unreferenced before are
 * collected too, as `gc` would.
 *
 * @since 0.1.0
 * @category model
 */
export interface PruneReport {
  readonly removed: ReadonlyArray<Descriptor>
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly size: number; readonly path: string }>
  readonly bytes: number
  readonly dryRun: boolean
}

/**
 * The entries to remove under `rules`, in index order; `now` is the time ages are measured from, in
 * milliseconds since the epoch.
 *
 * @since 0.1.0
 * @category policy
 */
export const select: (entries: ReadonlyArray<Entry>, rules: Rules, now: number) => ReadonlyArray<Entry> =
  internal.select

/**
 * Each entry's total and unique size, in the order given.
 *
 * @since 0.1.0
 * @category policy
 */
export const sizes: (entries: ReadonlyArray<Entry>) => ReadonlyArray<EntrySize> = internal.sizes

/**
 * The bytes of the distinct blobs `entries` reach, each blob counted once: what a layout holding only
 * these entries needs after a gc.
 *
 * @since 0.1.0
 * @category policy
 */
export const totalSize: (entries: Iterable<Entry>) => number = internal.totalSize

/**
 * Whether a `keep` value names `entry`: its containerd name, its ref name or its digest.
 *
 * @since 0.1.0
 * @category policy
 */
export const isKept: (entry: Entry, keep: ReadonlyArray<string>) => boolean = internal.isKept
