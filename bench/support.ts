/**
 * What the bench programs share: their result shape, and medians and 90th percentiles.
 */

/** One row of the table bench/run.mjs prints. Times in milliseconds. */
export interface BenchResult {
  readonly name: string
  readonly n: number
  readonly medianMs: number
  readonly p90Ms: number
  readonly totalMs: number
  readonly target?: string | undefined
  readonly note?: string | undefined
}

const round = (ms: number): number => Math.round(ms * 100) / 100

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

export const summarize = (
  name: string,
  times: ReadonlyArray<number>,
  extra: { readonly target?: string | undefined; readonly note?: string | undefined } = {}
): BenchResult => {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    name,
    n: times.length,
    medianMs: round(percentile(sorted, 0.5)),
    p90Ms: round(percentile(sorted, 0.9)),
    totalMs: round(times.reduce((sum, ms) => sum + ms, 0)),
    ...(extra.target === undefined ? {} : { target: extra.target }),
    ...(extra.note === undefined ? {} : { note: extra.note })
  }
}
