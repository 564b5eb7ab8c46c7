/**
 * The JSON lines the workers write, decoded (a line that does not match is a defect of the worker).
 */
import { Schema } from "effect"
import type { Child } from "@ocidx/testkit/Processes"

export const PutLine = Schema.Struct({
  type: Schema.Literal("put"),
  tag: Schema.String,
  ok: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  ms: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
export type PutLine = typeof PutLine.Type

const OtherLine = Schema.Struct({ type: Schema.Literal("ready", "done", "error", "fatal") }).annotations({
  parseOptions: { onExcessProperty: "preserve" }
})

const Line = Schema.Union(PutLine, OtherLine)
const decodeLine = Schema.decodeUnknownSync(Schema.parseJson(Line))

export const ImitatorDone = Schema.Struct({
  type: Schema.Literal("done"),
  puts: Schema.Number,
  busy: Schema.Number,
  errors: Schema.Number
})

export const ReaderDone = Schema.Struct({
  type: Schema.Literal("done"),
  reads: Schema.Number,
  changes: Schema.Number,
  decodes: Schema.Number,
  parseErrors: Schema.Number,
  decodeErrors: Schema.Number,
  missing: Schema.Number,
  empty: Schema.Number,
  samples: Schema.Array(Schema.String)
})

/** A worker's put lines, and its other lines as they came. */
export interface WorkerOutput {
  readonly puts: ReadonlyArray<PutLine>
  readonly others: ReadonlyArray<{ readonly type: string }>
  readonly raw: ReadonlyArray<string>
}

export const outputOf = (worker: Child): WorkerOutput => {
  const raw = worker.lines().filter((line) => line.trim() !== "")
  const puts: Array<PutLine> = []
  const others: Array<{ readonly type: string }> = []
  for (const line of raw) {
    const decoded = decodeLine(line)
    if (decoded.type === "put") puts.push(decoded)
    else others.push(decoded)
  }
  return { puts, others, raw }
}

/** The last line of `worker`, decoded with `schema` (the workers end with a summary line). */
export const lastLineAs = <A, I>(worker: Child, schema: Schema.Schema<A, I>): A => {
  const raw = worker.lines().filter((line) => line.trim() !== "")
  return Schema.decodeUnknownSync(Schema.parseJson(schema))(raw.at(-1) ?? "")
}

/** The median and 90th percentile of `values` (nearest rank). */
export const percentiles = (values: ReadonlyArray<number>): { readonly median: number; readonly p90: number } => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
  return { median: at(0.5), p90: at(0.9) }
}
