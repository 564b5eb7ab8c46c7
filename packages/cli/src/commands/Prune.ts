/**
 * `ocidx prune <dir> [--keep <name-or-tag>]... [--keep-last n] [--older-than <duration>] [--max-size <size>]
 * [--dry-run] [--json] [--grace <duration>] [--force]`: removes index entries by policy under the exclusive lock, then
 * collects what became unreachable as `gc` does. How the rules combine is `Prune`'s (core) to say, and
 * docs/cli.md's to show.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { PruneReport } from "@ocidx/core/Prune"
import * as Text from "@ocidx/core/Text"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { UsageError } from "../CliError.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

/** Binary for K/M/G/T with or without `iB` (as docker and `du -h` read them), decimal for KB/MB/GB/TB. */
const sizeUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4
}

/**
 * Parses a size for `--max-size`: bytes, or a number with a unit, case-insensitive: `K`, `M`, `G`, `T` and
 * `KiB` ... `TiB` are binary (1024), `KB` ... `TB` decimal (1000), `B` bytes. `500MiB`, `2G`, `1.5GB`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseByteSize = (text: string): Either.Either<number, string> => {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = match ? sizeUnits[(match[2] ?? "").toLowerCase()] : undefined
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN
  return Number.isSafeInteger(bytes)
    ? Either.right(bytes)
    : Either.left(
        `${Text.quote(text)} is not a size: use bytes or a number with a unit, e.g. 500MiB, 2G (binary: K, M, G, T, KiB, MiB, GiB, TiB) or 10GB (decimal: KB, MB, GB, TB)`
      )
}

/**
 * Parses an age for `--older-than`: what `--grace` takes (`0`, `500ms`, `30s`, `2m`, `1h`), and days and
 * weeks: `7d`, `2w`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAge = (text: string): Either.Either<Duration.Duration, string> => {
  const match = /^(\d+(?:\.\d+)?)(d|w)$/.exec(text.trim())
  if (match) return Either.right(Duration.days(Number(match[1]) * (match[2] === "w" ? 7 : 1)))
  return Either.mapLeft(
    Flags.parseDuration(text),
    () => `${Text.quote(text)} is not a duration: use a number with a unit, e.g. 30m, 12h, 7d or 2w`
  )
}

/**
 * Parses a count for `--keep-last`: a whole number, 0 or more.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCount = (text: string): Either.Either<number, string> => {
  const count = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  return Number.isSafeInteger(count)
    ? Either.right(count)
    : Either.left(`${Text.quote(text)} is not a count: use a whole number, 0 or more`)
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`

/**
 * The `prune --json` document: `{"removed": [descriptors as stored], "blobs": [{"digest", "size"}], "bytes"}`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const pruneJson = (report: PruneReport) => ({
  removed: report.removed,
  blobs: report.blobs.map(({ digest, size }) => ({ digest, size })),
  bytes: report.bytes
})

/**
 * The human `prune` report: one line per entry removed, then what gc collected.
 *
 * @since 0.1.0
 * @category formatting
 */
export const pruneText = (directory: string, report: PruneReport): string => {
  const verb = report.dryRun ? "would remove" : "removed"
  const lines = report.removed.map((entry) => `${verb} ${Output.entryName(entry)}  ${Output.shortDigest(entry.digest)}`)
  const summary =
    report.removed.length === 0 && report.blobs.length === 0
      ? `${Text.escapeControls(directory)}: nothing to remove`
      : `${Text.escapeControls(directory)}: ${verb} ${plural(report.removed.length, "entry", "entries")} and ${plural(report.blobs.length, "blob", "blobs")}, ${Output.formatSize(report.bytes)}${report.dryRun ? " (dry run)" : ""}`
  return `${[...lines, summary].join("\n")}\n`
}

/**
 * @since 0.1.0
 * @category commands
 */
export const prune = Command.make(
  "prune",
  {
    directory: Flags.directory,
    keep: Options.text("keep").pipe(
      Options.withPseudoName("name-or-tag"),
      Options.withDescription(
        "Never remove the entries this names (full image name, tag or digest), whatever the other rules say; repeat for more."
      ),
      Options.repeated
    ),
    keepLast: Options.text("keep-last").pipe(
      Options.withPseudoName("n"),
      Options.withDescription("Keep the n newest entries (by their manifest blob's mtime)."),
      Options.mapEffect(Flags.parsedWith(parseCount, "keep-last")),
      Options.optional
    ),
    olderThan: Options.text("older-than").pipe(
      Options.withPseudoName("duration"),
      Options.withDescription(
        "Keep the entries no older than this (by their manifest blob's mtime): 30m, 12h, 7d, 2w. With --keep-last, an entry either keeps stays."
      ),
      Options.mapEffect(Flags.parsedWith(parseAge, "older-than")),
      Options.optional
    ),
    maxSize: Options.text("max-size").pipe(
      Options.withPseudoName("size"),
      Options.withDescription(
        "Then remove the oldest entries not named by --keep until the blobs the rest reach fit: 500MiB, 2G (binary), 10GB (decimal)."
      ),
      Options.mapEffect(Flags.parsedWith(parseByteSize, "max-size")),
      Options.optional
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Report what would be removed; change nothing.")),
    force: Options.boolean("force").pipe(
      Options.withDescription(
        "As gc --force: go on when a reachable manifest cannot be read (the entry is judged by what could be read, and the blobs only it references may go), or when index.json is blank."
      )
    ),
    json: Flags.json,
    grace: Flags.grace,
    lockTimeout: Flags.lockTimeout
  },
  ({ directory, dryRun, force, grace, json, keep, keepLast, maxSize, olderThan }) =>
    Effect.gen(function* () {
      if (Option.isNone(keepLast) && Option.isNone(olderThan) && Option.isNone(maxSize)) {
        return yield* new UsageError({
          message:
            "prune needs a rule: --keep-last, --older-than or --max-size (--keep alone removes nothing; --keep-last 0 removes every entry --keep does not name)."
        })
      }
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const report = yield* layout.prune({
        keep,
        keepLast: Option.getOrUndefined(keepLast),
        olderThan: Option.getOrUndefined(olderThan),
        maxSize: Option.getOrUndefined(maxSize),
        dryRun,
        force,
        grace: Option.getOrUndefined(grace)
      })
      yield* stdio.out(json ? Output.json(pruneJson(report)) : pruneText(directory, report))
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Remove index entries by policy (--keep always wins; --keep-last and --older-than keep; --max-size is a ceiling, oldest first), then collect what nothing reaches any more, as gc does (with its grace period)."
  )
)
