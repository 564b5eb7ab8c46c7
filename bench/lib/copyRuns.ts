/**
 * What the registry and archive groups share: timing one copy (disks flushed first; wall time, CPU time and
 * peak RSS from /usr/bin/time), alternating the tools' order each round, summarising a tool's runs, and issue
 * 14's row for a copy against `skopeo copy` (throughput and peak RSS).
 */
import * as NodeCrypto from "node:crypto"
import {
  formatBytes,
  formatMs,
  type HeadlineRow,
  headline,
  MiB,
  median,
  mibPerSecond,
  syncDisks,
  timeProcess
} from "./support.js"

/** The peak RSS a copy of 1 GiB must stay under (issue 14). */
export const copyRssLimit = 200 * MiB

export const sha256Hex = (bytes: string | Uint8Array): string =>
  NodeCrypto.createHash("sha256").update(bytes).digest("hex")

export interface CopyRun {
  readonly ms: number
  readonly cpuMs: number
  readonly rssBytes: number
  /** A bench worker's own time for the copy (its `{"ms": ...}` line), without starting node and loading code. */
  readonly copyMs?: number | undefined
}

/** The tools in order on even rounds and reversed on odd ones, so that neither always runs first. */
export const alternate = <T>(tools: ReadonlyArray<T>, round: number): ReadonlyArray<T> =>
  round % 2 === 0 ? tools : [...tools].reverse()

/** Runs one copy under /usr/bin/time after flushing the disks; `reportsMs` reads the worker's own time. */
export const measureCopy = (
  command: { readonly command: string; readonly args: ReadonlyArray<string> },
  reportsMs = false
): CopyRun => {
  syncDisks()
  const run = timeProcess(command.command, command.args)
  const reported: unknown = reportsMs ? JSON.parse(run.stdout || "{}") : {}
  const copyMs = typeof reported === "object" && reported !== null && "ms" in reported ? Number(reported.ms) : undefined
  return { ms: run.ms, cpuMs: run.cpuMs, rssBytes: run.rssBytes, copyMs }
}

export const describeRun = (run: CopyRun): string =>
  `${formatMs(run.ms)}${run.copyMs === undefined ? "" : ` (copy alone ${formatMs(run.copyMs)})`}, CPU ${formatMs(run.cpuMs)}, peak RSS ${formatBytes(run.rssBytes)}`

/** A tool's runs of one operation: median wall and CPU time, throughput, and the largest peak RSS. */
export const copyStats = (runs: ReadonlyArray<CopyRun>, bytes: number) => {
  const ms = median(runs.map((run) => run.ms))
  return {
    times: runs.map((run) => run.ms),
    ms,
    rate: `${mibPerSecond(bytes, ms).toFixed(0)} MiB/s`,
    cpuMs: median(runs.map((run) => run.cpuMs)),
    peakRss: Math.max(...runs.map((run) => run.rssBytes))
  }
}

/** Issue 14's row for a copy: ocidx's median time against skopeo copy's, and ocidx's peak RSS. */
export const copyHeadline = (row: {
  readonly key: string
  readonly what: string
  readonly ocidx: ReadonlyArray<CopyRun>
  readonly skopeo: ReadonlyArray<CopyRun>
  readonly bytes: number
  readonly note?: string | undefined
}): HeadlineRow => {
  const ours = copyStats(row.ocidx, row.bytes)
  const theirs = copyStats(row.skopeo, row.bytes)
  return headline({
    key: row.key,
    what: row.what,
    ocidxMs: ours.ms,
    peerName: "skopeo copy",
    peerMs: theirs.ms,
    bytes: row.bytes,
    target: ">= 1.0x throughput (time <= 1.0x); RSS < 200 MiB",
    limit: 1,
    rssBytes: ours.peakRss,
    rssLimit: copyRssLimit,
    peerRssBytes: theirs.peakRss,
    note: [`CPU ${formatMs(ours.cpuMs)} vs ${formatMs(theirs.cpuMs)}`, row.note].filter(Boolean).join("; ")
  })
}
