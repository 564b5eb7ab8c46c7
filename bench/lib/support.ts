/**
 * What the bench programs share: the report each prints (measurements, target rows, scaling points), medians,
 * and running, timing and measuring other processes. Timings are only ever reported, never asserted.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

/** One measured thing: `n` repetitions, times in milliseconds. */
export interface Measurement {
  readonly name: string
  readonly n: number
  readonly medianMs: number
  readonly p90Ms: number
  readonly minMs: number
  readonly totalMs: number
  readonly note?: string | undefined
}

/**
 * One row per target of the issue. `ratio` is ocidx over the reference, so that lower is better for every row
 * (a throughput target is written as a time ratio); `limit` is the largest ratio that passes, and `strict`
 * makes it a `<` rather than a `<=`. `pass` is undefined when the row was skipped (a peer is missing).
 */
export interface TargetRow {
  readonly id: string
  readonly target: string
  readonly measured: string
  readonly ratio?: number | undefined
  readonly ratioOf?: string | undefined
  readonly limit?: number | undefined
  readonly pass?: boolean | undefined
  readonly note?: string | undefined
}

/** One point of a scaling series: the cost at size `x`. */
export interface ScalingPoint {
  readonly series: string
  readonly x: number
  readonly unit: string
  readonly medianMs: number
  readonly note?: string | undefined
}

/**
 * One row of the consolidated table of issue 14's targets, which bench/run.mjs prints first (in the order of
 * `key`, see headlineRows there). `ratio` is ocidx's time over the peer's, so lower is better on every row (a
 * throughput target is a time ratio too); `met` is undefined when nothing was measured or the row has no
 * target. `rss` is set where the target bounds peak RSS as well.
 */
export interface HeadlineRow {
  readonly key: string
  readonly what: string
  readonly ocidx: string
  readonly peer: string
  readonly ratio?: number | undefined
  readonly target: string
  readonly met?: boolean | undefined
  readonly rss?: string | undefined
  readonly note?: string | undefined
}

export interface GroupReport {
  readonly bench: string
  /** process.version of the node that ran the group, its workers and (unless it is a shell launcher) ocidx. */
  readonly node: string
  readonly load: { readonly before: number; readonly after: number }
  readonly missing: ReadonlyArray<string>
  readonly measurements: ReadonlyArray<Measurement>
  readonly targets: ReadonlyArray<TargetRow>
  readonly scaling: ReadonlyArray<ScalingPoint>
  readonly headline: ReadonlyArray<HeadlineRow>
}

const round = (ms: number): number => Math.round(ms * 100) / 100

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

/** The median of a list (the mean of the middle two for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = sorted.length >> 1
  const upper = sorted[middle] ?? Number.NaN
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2
}

export const summarize = (name: string, times: ReadonlyArray<number>, note?: string): Measurement => {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    name,
    n: times.length,
    medianMs: round(median(times)),
    p90Ms: round(percentile(sorted, 0.9)),
    minMs: round(sorted[0] ?? Number.NaN),
    totalMs: round(times.reduce((sum, ms) => sum + ms, 0)),
    ...(note === undefined ? {} : { note })
  }
}

/** A target row from a ratio and its limit. */
export const target = (row: {
  readonly id: string
  readonly target: string
  readonly measured: string
  readonly ratio: number
  readonly ratioOf: string
  readonly limit: number
  readonly strict?: boolean
  readonly note?: string | undefined
}): TargetRow => ({
  id: row.id,
  target: row.target,
  measured: row.measured,
  ratio: Math.round(row.ratio * 1000) / 1000,
  ratioOf: row.ratioOf,
  limit: row.limit,
  pass: row.strict === true ? row.ratio < row.limit : row.ratio <= row.limit,
  ...(row.note === undefined ? {} : { note: row.note })
})

/**
 * A row of issue 14's table from two times: ocidx's and the peer's, both medians of the same rounds. `limit` is
 * the largest time ratio that meets the target (none: the row is reported without a target); `rssBytes` under
 * `rssLimit` is required too when both are given, and `alsoMet` (e.g. "0 tags lost") when given.
 */
export const headline = (row: {
  readonly key: string
  readonly what: string
  readonly ocidxMs: number
  readonly peerName: string
  readonly peerMs: number
  readonly target: string
  readonly limit?: number | undefined
  readonly bytes?: number | undefined
  readonly rssBytes?: number | undefined
  readonly rssLimit?: number | undefined
  readonly peerRssBytes?: number | undefined
  readonly alsoMet?: boolean | undefined
  readonly note?: string | undefined
}): HeadlineRow => {
  const ratio = row.ocidxMs / row.peerMs
  const rate = (ms: number) => (row.bytes === undefined ? "" : ` (${mibPerSecond(row.bytes, ms).toFixed(0)} MiB/s)`)
  const rssMet = row.rssBytes === undefined || row.rssLimit === undefined || row.rssBytes < row.rssLimit
  return {
    key: row.key,
    what: row.what,
    ocidx: `${formatMs(row.ocidxMs)}${rate(row.ocidxMs)}`,
    peer: `${row.peerName} ${formatMs(row.peerMs)}${rate(row.peerMs)}`,
    ratio: Math.round(ratio * 1000) / 1000,
    target: row.target,
    met: row.limit === undefined ? undefined : ratio <= row.limit && rssMet && row.alsoMet !== false,
    ...(row.rssBytes === undefined
      ? {}
      : {
          rss: `${formatBytes(row.rssBytes)}${row.rssLimit === undefined ? "" : ` (< ${formatBytes(row.rssLimit)}${rssMet ? "" : " NOT MET"})`}${row.peerRssBytes === undefined ? "" : `; peer ${formatBytes(row.peerRssBytes)}`}`
        }),
    ...(row.note === undefined ? {} : { note: row.note })
  }
}

/** A row of issue 14's table that could not be measured, and why. */
export const headlineSkipped = (key: string, what: string, targetText: string, why: string): HeadlineRow => ({
  key,
  what,
  ocidx: "-",
  peer: "-",
  target: targetText,
  note: `not measured: ${why}`
})

/** A target row that could not be measured. */
export const skipped = (id: string, targetText: string, why: string): TargetRow => ({
  id,
  target: targetText,
  measured: "skipped",
  note: why
})

export const formatMs = (ms: number): string =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

export const formatBytes = (bytes: number): string =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`

/** Throughput of `bytes` in `ms`, as MiB/s. */
export const mibPerSecond = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000)

/** The 1-minute load average, to say which runs were made on a busy machine. */
export const loadAverage = (): number => Math.round((NodeOs.loadavg()[0] ?? 0) * 100) / 100

/** Where a program on the PATH is, or undefined. */
export const which = (command: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(NodePath.delimiter)) {
    if (dir === "") continue
    const candidate = NodePath.join(dir, command)
    try {
      NodeFs.accessSync(candidate, NodeFs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** The environment the driver (bench/run.mjs) passes to each program. */
export const environment = {
  /** The repository's root directory. */
  root: process.env.OCIDX_BENCH_ROOT ?? process.cwd(),
  /** The bundled CLI entry point. */
  cli: process.env.OCIDX_CLI,
  /** The bundled bench worker programs. */
  benchWorkers: process.env.OCIDX_BENCH_WORKERS,
  /** The bundled test worker programs (put-worker, ...). */
  testWorkers: process.env.OCIDX_WORKERS_DIR,
  /** Skip the 1 and 2 GiB cases. */
  quick: process.env.OCIDX_BENCH_QUICK === "1",
  /** The directory under which programs make their temp directories. */
  tmp: process.env.OCIDX_BENCH_TMP ?? NodeOs.tmpdir(),
  /** Measure start-up only (the cli group run again under a second node, --also-node). */
  startupOnly: process.env.OCIDX_BENCH_STARTUP_ONLY === "1"
}

/**
 * The `ocidx` command line for `args`: node and the bundle when the driver bundled the CLI (a .mjs file), else
 * the launcher itself (packages/cli/bin/ocidx, the sh launcher that runs node on the built bundle).
 */
export const ocidx = (...args: ReadonlyArray<string>): { readonly command: string; readonly args: Array<string> } => {
  const cli = environment.cli
  if (cli === undefined) throw new Error("OCIDX_CLI is not set: run this through bench/run.mjs")
  return /\.[cm]?js$/.test(cli)
    ? { command: process.execPath, args: [cli, ...args] }
    : { command: cli, args: [...args] }
}

/** Runs `ocidx args...` to its end; fails unless it exits 0. */
export const runOcidx = (...args: ReadonlyArray<string>): ProcessRun => {
  const { args: all, command } = ocidx(...args)
  return runChecked(command, all)
}

/** A fresh temp directory under the bench's temp root. */
export const makeTempDir = (prefix: string): string => NodeFs.mkdtempSync(NodePath.join(environment.tmp, prefix))

export const removeDir = (dir: string): void => NodeFs.rmSync(dir, { recursive: true, force: true })

export interface ProcessRun {
  readonly ms: number
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end and times it from spawn to exit. */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd?: string
    readonly env?: NodeJS.ProcessEnv
    readonly stdout?: "pipe" | "ignore"
    readonly input?: string
  } = {}
): ProcessRun => {
  const started = performance.now()
  const run = ChildProcess.spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? "ignore" : "pipe", options.stdout ?? "pipe", "pipe"],
    ...(options.input === undefined ? {} : { input: options.input }),
    encoding: "utf8",
    maxBuffer: 256 * MiB
  })
  const ms = performance.now() - started
  if (run.error) throw run.error
  return { ms, status: run.status, stdout: run.stdout ?? "", stderr: run.stderr ?? "" }
}

/** Like runProcess, and fails when the command does not exit with one of `okCodes`. */
export const runChecked = (
  command: string,
  args: ReadonlyArray<string>,
  options: Parameters<typeof runProcess>[2] & { readonly okCodes?: ReadonlyArray<number> } = {}
): ProcessRun => {
  const run = runProcess(command, args, options)
  const ok = options.okCodes ?? [0]
  if (run.status === null || !ok.includes(run.status)) {
    throw new Error(`${command} ${args.join(" ")} exited with ${run.status}: ${run.stderr.trim().slice(0, 2000)}`)
  }
  return run
}

/**
 * Runs a command `n` times and returns the times. `before` runs ahead of each repetition, outside the timing
 * (to restore the layout, for example); `warmup` repetitions run first and are not counted.
 */
export const repeatProcess = (
  n: number,
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly before?: () => void
    readonly warmup?: number
    readonly okCodes?: ReadonlyArray<number>
    readonly stdout?: "pipe" | "ignore"
  } = {}
): Array<number> => {
  const times: Array<number> = []
  for (let i = 0; i < (options.warmup ?? 0) + n; i++) {
    options.before?.()
    const run = runChecked(command, args, {
      ...(options.okCodes ? { okCodes: options.okCodes } : {}),
      stdout: options.stdout ?? "ignore"
    })
    if (i >= (options.warmup ?? 0)) times.push(run.ms)
  }
  return times
}

/**
 * Alternates the commands in each round, so that a change in the machine's load hits all of them alike, and
 * returns each command's times.
 */
export const interleave = (
  n: number,
  commands: ReadonlyArray<{
    readonly command: string
    readonly args: ReadonlyArray<string>
    readonly before?: () => void
    readonly okCodes?: ReadonlyArray<number>
    readonly input?: string
    readonly cwd?: string
  }>,
  warmup = 1
): Array<Array<number>> => {
  const times = commands.map((): Array<number> => [])
  for (let i = 0; i < warmup + n; i++) {
    for (const [c, spec] of commands.entries()) {
      spec.before?.()
      const run = runChecked(spec.command, spec.args, {
        ...(spec.okCodes ? { okCodes: spec.okCodes } : {}),
        ...(spec.input === undefined ? {} : { input: spec.input }),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        stdout: "ignore"
      })
      if (i >= warmup) times[c]?.push(run.ms)
    }
  }
  return times
}

const timeCommand = "/usr/bin/time"

/**
 * Runs a command once and reads its peak resident set size: from GNU time's `%M` where /usr/bin/time exists,
 * else (for node programs only) from `process.resourceUsage().maxRSS` written by a preloaded module.
 */
export const peakRss = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly okCodes?: ReadonlyArray<number> } = {}
): { readonly ms: number; readonly rssBytes: number; readonly via: string; readonly stdout: string } => {
  if (NodeFs.existsSync(timeCommand)) {
    const run = runChecked(timeCommand, ["-f", "OCIDX_MAXRSS_KB %M", command, ...args], options)
    const line = run.stderr.split("\n").find((l) => l.startsWith("OCIDX_MAXRSS_KB "))
    const kb = Number(line?.split(" ")[1])
    if (!Number.isFinite(kb)) throw new Error(`no max RSS from ${timeCommand}: ${run.stderr.slice(-500)}`)
    return { ms: run.ms, rssBytes: kb * 1024, via: "/usr/bin/time -f %M", stdout: run.stdout }
  }
  if (command !== process.execPath) throw new Error(`${timeCommand} is missing: cannot measure ${command}'s RSS`)
  const dir = makeTempDir("ocidx-rss-")
  try {
    const hook = NodePath.join(dir, "hook.mjs")
    const out = NodePath.join(dir, "maxrss")
    NodeFs.writeFileSync(
      hook,
      `import * as fs from "node:fs"\nprocess.on("exit", () => fs.writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)))\n`
    )
    const run = runChecked(command, ["--import", hook, ...args], options)
    const kb = Number(NodeFs.readFileSync(out, "utf8"))
    return { ms: run.ms, rssBytes: kb * 1024, via: "process.resourceUsage().maxRSS", stdout: run.stdout }
  } finally {
    removeDir(dir)
  }
}

/**
 * Runs a command once under GNU time (which must exist) and returns its wall time, its CPU time (user and
 * system, children included) and its peak RSS: on a machine that other work keeps busy, the CPU time says more
 * about the cost than the wall time does.
 */
export const timeProcess = (
  command: string,
  args: ReadonlyArray<string>
): { readonly ms: number; readonly cpuMs: number; readonly rssBytes: number; readonly stdout: string } => {
  const run = runChecked(timeCommand, ["-f", "OCIDX_TIME %U %S %M", command, ...args])
  const line = run.stderr.split("\n").find((l) => l.startsWith("OCIDX_TIME "))
  const [user, system, kb] = (line ?? "").split(" ").slice(1).map(Number)
  if (user === undefined || system === undefined || kb === undefined || [user, system, kb].some(Number.isNaN)) {
    throw new Error(`no times from ${timeCommand}: ${run.stderr.slice(-500)}`)
  }
  return { ms: run.ms, cpuMs: (user + system) * 1000, rssBytes: kb * 1024, stdout: run.stdout }
}

/**
 * Runs a bench worker that reports `{"ms": ...}` for the operation alone (no process start-up) `n` times and
 * returns those times. `before` runs ahead of each repetition.
 */
export const workerTimes = (
  n: number,
  script: string,
  args: ReadonlyArray<string>,
  before?: () => void
): Array<number> => {
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    before?.()
    const run = runChecked(process.execPath, [script, ...args])
    const reported: unknown = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}")
    const ms = typeof reported === "object" && reported !== null && "ms" in reported ? Number(reported.ms) : Number.NaN
    times.push(ms)
  }
  return times
}

/** Flushes dirty pages so one step's writeback does not land in the next step's timing. */
export const syncDisks = (): void => {
  ChildProcess.spawnSync("sync", [], { stdio: "ignore" })
}

/** A group's report, printed as the last line of stdout for the driver. */
export const emit = (report: GroupReport): void => {
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

/** Runs a group's body with the load average around it, prints the report, and sets the exit code on failure. */
export const runGroup = async (
  bench: string,
  body: (report: {
    readonly measurements: Array<Measurement>
    readonly targets: Array<TargetRow>
    readonly scaling: Array<ScalingPoint>
    readonly missing: Array<string>
    readonly headline: Array<HeadlineRow>
  }) => Promise<void> | void
): Promise<void> => {
  const before = loadAverage()
  const parts = {
    measurements: [] as Measurement[],
    targets: [] as TargetRow[],
    scaling: [] as ScalingPoint[],
    missing: [] as string[],
    headline: [] as HeadlineRow[]
  }
  try {
    await body(parts)
    emit({ bench, node: process.version, load: { before, after: loadAverage() }, ...parts })
  } catch (error) {
    console.error(error)
    process.exitCode = 1
  }
}

/** Logs progress to stderr (the driver passes it through). */
export const log = (message: string): void => {
  process.stderr.write(`  ${message}\n`)
}
