/**
 * How ocidx shows things: human tables, JSON documents, sizes (`1.2 MiB`) and short digests
 * (`sha256:abcd1234ef56`). Pure functions; the commands decide where the text goes.
 *
 * @since 0.1.0
 */
import * as Annotations from "@ocidx/core/Annotations"
import type { Descriptor } from "@ocidx/core/Descriptor"
import { annotation } from "@ocidx/core/Descriptor"
import type { Finding, GcReport, VerifyReport } from "@ocidx/core/Layout"
import * as Json from "@ocidx/core/Json"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as Platform from "@ocidx/core/Platform"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as Text from "@ocidx/core/Text"
import * as Option from "effect/Option"

const units = ["KiB", "MiB", "GiB", "TiB", "PiB"] as const

/**
 * A byte count for people: `532 B`, `1.2 KiB`, `34.0 MiB` (binary units, one decimal).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatSize = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  // 1023.96 KiB would round to "1024.0 KiB": show it as the next unit.
  if (value.toFixed(1) === "1024.0" && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/**
 * A digest shortened for tables: the algorithm and the first 12 characters, `sha256:abcd1234ef56`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const shortDigest = (digest: string): string => {
  const colon = digest.indexOf(":")
  return colon === -1 ? digest : `${digest.slice(0, colon)}:${digest.slice(colon + 1, colon + 13)}`
}

/**
 * One JSON document, indented, ending in a newline.
 *
 * @since 0.1.0
 * @category formatting
 */
export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

/**
 * An index entry as JSON, laid out as `json` lays it out, with its text from index.json where it has one: a
 * number JavaScript cannot hold (`1e400`, a 20-digit integer) is printed as the file has it, not as `null` or
 * a rounded value, so `ocidx get` piped into `ocidx put --descriptor -` puts what the file holds. `extra`
 * members (computed here, plain values) are added at the end. No trailing newline; `depth` as `Json.indent`.
 */
const entryJson = (entry: Descriptor, depth: number, extra?: Readonly<Record<string, unknown>>): string => {
  const members = extra === undefined ? "" : JSON.stringify(extra).slice(1, -1)
  // A member the entry has already (an unknown field of the same name) is replaced in place, from the value.
  const replaces = extra !== undefined && Object.keys(extra).some((key) => Object.hasOwn(entry, key))
  return Option.match(replaces ? Option.none() : StoreIndex.entryText(entry), {
    onNone: () => Json.indent(JSON.stringify(members === "" ? entry : { ...entry, ...extra }), depth),
    onSome: (text) =>
      Json.indent(members === "" ? text : `${text.slice(0, -1)}${text === "{}" ? "" : ","}${members}}`, depth)
  })
}

/**
 * One index entry as a JSON document (`ocidx get`), its numbers and strings as index.json has them.
 *
 * @since 0.1.0
 * @category formatting
 */
export const entryDocument = (entry: Descriptor): string => `${entryJson(entry, 0)}\n`

/**
 * Index entries as one JSON array (`ocidx ls --json`): each row's `descriptor` as `entryDocument` prints it,
 * with the members `extra(row)` gives added at its end.
 *
 * @since 0.1.0
 * @category formatting
 */
export const entriesDocument = <A extends { readonly descriptor: Descriptor }>(
  rows: ReadonlyArray<A>,
  extra?: (row: A) => Readonly<Record<string, unknown>>
): string =>
  rows.length === 0
    ? "[]\n"
    : `[\n${rows.map((row) => `  ${entryJson(row.descriptor, 1, extra?.(row))}`).join(",\n")}\n]\n`

/**
 * Left-aligned columns separated by three spaces; the last column is not padded. Cells come from files and
 * arguments, so control characters in them are shown escaped: a cell never adds a line or styles the terminal.
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const all = [header, ...rows].map((row) => row.map(Text.escapeControls))
  // A reduce, not Math.max(...): a table can have more rows than a call takes arguments.
  const widths = header.map((_, column) => all.reduce((width, row) => Math.max(width, (row[column] ?? "").length), 0))
  const line = (row: ReadonlyArray<string>) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("   ")
      .trimEnd()
  return `${all.map(line).join("\n")}\n`
}

/**
 * What an index entry is called: its full image name, else its tag, else `<none>`; escaped, as it comes from a file.
 *
 * @since 0.1.0
 * @category formatting
 */
export const entryName = (descriptor: Descriptor): string =>
  Text.escapeControls(
    annotation(descriptor, Annotations.containerdImageName) ?? annotation(descriptor, Annotations.refName) ?? "<none>"
  )

/**
 * `os/arch[/variant]`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPlatform = (platform: PlatformSelector): string => Platform.format(platform)

/**
 * The `ls` table. `platforms` gives each entry's PLATFORM cell (an image index lists its children's).
 *
 * @since 0.1.0
 * @category formatting
 */
export const lsTable = (
  entries: ReadonlyArray<{ readonly descriptor: Descriptor; readonly platforms: string }>
): string =>
  table(
    ["NAME", "DIGEST", "MEDIA TYPE", "SIZE", "PLATFORM"],
    entries.map(({ descriptor, platforms }) => [
      entryName(descriptor),
      shortDigest(descriptor.digest),
      descriptor.mediaType,
      formatSize(descriptor.size),
      platforms
    ])
  )

/**
 * A finding as `verify --json` prints it: exactly severity, code, message, and path and digest when known.
 *
 * @since 0.1.0
 * @category formatting
 */
export const findingJson = (finding: Finding) => ({
  severity: finding.severity,
  code: finding.code,
  message: finding.message,
  ...(finding.path !== undefined ? { path: finding.path } : {}),
  ...(finding.digest !== undefined ? { digest: finding.digest } : {})
})

/**
 * The `verify --json` document: `{"ok", "findings"}`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const verifyJson = (report: VerifyReport) => ({ ok: report.ok, findings: report.findings.map(findingJson) })

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`

/**
 * The human `verify` report: one line per finding, then a summary.
 *
 * @since 0.1.0
 * @category formatting
 */
export const verifyText = (directory: string, report: VerifyReport): string => {
  const lines = report.findings.map(
    (finding) =>
      `${finding.severity.padEnd(7)}  ${finding.code}: ${finding.message.split("\n").map(Text.escapeControls).join("\n")}`
  )
  const count = (severity: Finding["severity"]) => report.findings.filter((f) => f.severity === severity).length
  const checked = `${plural(report.blobsChecked, "blob")} (${formatSize(report.bytesChecked)})`
  const summary = report.ok
    ? `${directory}: ok, ${checked} checked${count("warning") > 0 ? `, ${plural(count("warning"), "warning")}` : ""}`
    : `${directory}: ${plural(count("error"), "error")}, ${plural(count("warning"), "warning")}; ${checked} checked`
  return `${[...lines, summary].join("\n")}\n`
}

/**
 * The `gc --json` document: `{"removed": [{"digest", "size"}], "bytes"}`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const gcJson = (report: GcReport) => ({
  removed: report.removed.map(({ digest, size }) => ({ digest, size })),
  bytes: report.bytes
})

/**
 * The human `gc` report: one line per blob, then the total.
 *
 * @since 0.1.0
 * @category formatting
 */
export const gcText = (directory: string, report: GcReport): string => {
  const verb = report.dryRun ? "would remove" : "removed"
  const lines = report.removed.map((blob) => `${verb} ${shortDigest(blob.digest)}  ${formatSize(blob.size)}`)
  const total =
    report.removed.length === 0
      ? `${directory}: nothing to remove`
      : `${directory}: ${verb} ${plural(report.removed.length, "blob")}, ${formatSize(report.bytes)}${report.dryRun ? " (dry run)" : ""}`
  return `${[...lines, total].join("\n")}\n`
}
