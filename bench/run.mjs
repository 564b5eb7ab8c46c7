// The ocidx benchmarks:
//   npm run bench [-- <group>...] [-- --quick] [-- --json] [-- --cli=built|<bin>] [-- --src=<tree>]
//
// Node 20 cannot run TypeScript, so this bundles each bench/*.ts program (a group: puts, cli, contention,
// verify, gc, blobs, registry) and the worker programs they spawn with esbuild into a temp directory, runs the
// groups one after another, and prints one row per target of the issue, every measurement and the scaling
// series; with --json, one JSON document. --quick skips the 1 and 2 GiB cases (registry moves 128 MiB). The
// ocidx measured is the built command (packages/cli/bin/ocidx) when it is current, else a bundle of
// packages/cli/src made here (see cliChoice).
// --src=<tree> takes @ocidx/core and @ocidx/node from another tree (e.g. `git archive <commit> packages | tar
// -x -C <tree>`), to measure a before and an after with the same bench. Nothing is installed: a missing peer
// tool (umoci, sha256sum, python3, /usr/bin/time, skopeo, docker-registry) is named and its rows are
// skipped. Timings are only reported, never asserted.
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { benchDir, bundle, bundleCli, root } from "./lib/build.mjs"

const testWorkersDir = NodePath.join(root, "packages/node/test/support/workers")
const benchWorkersDir = NodePath.join(benchDir, "workers")
// The order groups run in: the cheap ones first, the large files last.
const order = ["puts", "cli", "contention", "verify", "gc", "blobs", "registry", "archive"]

const args = process.argv.slice(2)
const json = args.includes("--json")
const quick = args.includes("--quick")
const cliArg = args.find((arg) => arg.startsWith("--cli="))?.slice("--cli=".length)
const srcArg = args.find((arg) => arg.startsWith("--src="))?.slice("--src=".length)
const srcRoot = srcArg === undefined ? undefined : NodePath.resolve(srcArg)
const unknownFlags = args.filter(
  (arg) =>
    arg.startsWith("--") &&
    !["--json", "--quick"].includes(arg) &&
    !arg.startsWith("--cli=") &&
    !arg.startsWith("--src=")
)
if (unknownFlags.length > 0) {
  console.error(
    `unknown option ${unknownFlags.join(" ")}; usage: node bench/run.mjs [group...] [--quick] [--json] [--cli=built|<ocidx bin>] [--src=<tree>]`
  )
  process.exit(2)
}
const only = args.filter((arg) => !arg.startsWith("--"))

const available = NodeFs.readdirSync(benchDir)
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
  .map((file) => file.slice(0, -".ts".length))
const groups = available
  .filter((name) => only.length === 0 || only.includes(name))
  .sort((a, b) => (order.indexOf(a) + 1 || order.length + 1) - (order.indexOf(b) + 1 || order.length + 1))
const unknownGroups = only.filter((name) => !available.includes(name))
if (unknownGroups.length > 0 || groups.length === 0) {
  console.error(`no bench group ${unknownGroups.join(", ")}; the groups are ${available.join(", ")}`)
  process.exit(2)
}

// Which ocidx to run. By default the built command, packages/cli/bin/ocidx (the npm bin: node started from the
// CLI's V8 snapshot), when `npm run build -w @ocidx/cli` has built it from the current sources; else the CLI
// bundled here from packages/cli/src, as ESM (the launcher's fallback). --cli=built insists on the former,
// --cli=<file> runs that file; --src always bundles (the built command holds this tree's library).
const launcher = NodePath.join(root, "packages/cli/bin/ocidx")
const builtEntry = NodePath.join(root, "packages/cli/dist/ocidx.mjs")
const newestSource = () => {
  let newest = 0
  const walk = (dir) => {
    for (const entry of NodeFs.readdirSync(dir, { withFileTypes: true })) {
      const file = NodePath.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else newest = Math.max(newest, NodeFs.statSync(file).mtimeMs)
    }
  }
  for (const pkg of ["core", "node", "cli"]) walk(NodePath.join(root, "packages", pkg, "src"))
  return newest
}
const builtIsCurrent = () =>
  NodeFs.existsSync(launcher) && NodeFs.existsSync(builtEntry) && NodeFs.statSync(builtEntry).mtimeMs >= newestSource()
const hasSnapshot = () => NodeFs.existsSync(NodePath.join(root, "packages/cli/dist/snapshot/node-id"))
const cliChoice = (() => {
  if (cliArg === "built") {
    if (!NodeFs.existsSync(builtEntry)) {
      console.error("--cli=built: packages/cli/dist is missing; run `npm run build -w @ocidx/cli` first")
      process.exit(2)
    }
    return {
      kind: "file",
      path: launcher,
      label: `packages/cli/bin/ocidx (built${hasSnapshot() ? ", V8 snapshot" : ", no snapshot"}${builtIsCurrent() ? "" : ", OLDER than the sources"})`
    }
  }
  if (cliArg !== undefined) return { kind: "file", path: NodePath.resolve(cliArg), label: cliArg }
  if (srcRoot === undefined && builtIsCurrent()) {
    return {
      kind: "file",
      path: launcher,
      label: `packages/cli/bin/ocidx (built${hasSnapshot() ? ", V8 snapshot" : ", no snapshot"})`
    }
  }
  return {
    kind: "bundle",
    label: `ESM bundle of packages/cli/src made here${srcRoot === undefined ? " (packages/cli/dist is missing or older than the sources: `npm run build -w @ocidx/cli` to measure the built command)" : ""}`
  }
})()

const say = (text) => {
  if (!json) console.error(text)
}

const loadAverage = () => Math.round(NodeOs.loadavg()[0] * 100) / 100

const outDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-bench-build-"))
const tmpRoot = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-bench-data-"))
const reports = []
const failed = []

// A group runs in its own process group, so an interrupted bench stops it and whatever it spawned (umoci,
// sha256sum, workers), then removes its temp directories.
let current
const cleanUp = () => {
  NodeFs.rmSync(outDir, { recursive: true, force: true })
  NodeFs.rmSync(tmpRoot, { recursive: true, force: true })
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (current?.pid !== undefined) {
      try {
        process.kill(-current.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    cleanUp()
    console.error(`bench interrupted (${signal})`)
    process.exit(130)
  })
}

const runGroup = (name, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NodePath.join(outDir, "bench", `${name}.mjs`)], {
      env,
      stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
      detached: true
    })
    current = child
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("close", (status, signal) => {
      current = undefined
      resolve({ status, signal, stdout, stderr })
    })
  })
const started = Date.now()
const loadAtStart = loadAverage()
try {
  await bundle(
    groups.map((name) => NodePath.join(benchDir, `${name}.ts`)),
    NodePath.join(outDir, "bench"),
    srcRoot
  )
  await bundle(
    ["put-worker", "buildkit-imitator", "reader"].map((name) => NodePath.join(testWorkersDir, `${name}.ts`)),
    NodePath.join(outDir, "workers"),
    srcRoot
  )
  await bundle(
    NodeFs.readdirSync(benchWorkersDir)
      .filter((file) => file.endsWith(".ts"))
      .map((file) => NodePath.join(benchWorkersDir, file)),
    NodePath.join(outDir, "bench-workers"),
    srcRoot
  )
  const cli = cliChoice.kind === "bundle" ? await bundleCli(NodePath.join(outDir, "cli"), srcRoot) : cliChoice.path
  if (loadAtStart > 1) {
    say(`note: 1-minute load average ${loadAtStart} at start: other work is using the CPUs; timings may be slower`)
  }
  for (const name of groups) {
    say(`running bench/${name}.ts ...`)
    const groupStarted = Date.now()
    const run = await runGroup(name, {
      ...process.env,
      OCIDX_CLI: cli,
      OCIDX_WORKERS_DIR: NodePath.join(outDir, "workers"),
      OCIDX_BENCH_WORKERS: NodePath.join(outDir, "bench-workers"),
      OCIDX_BENCH_QUICK: quick ? "1" : "0",
      OCIDX_BENCH_TMP: tmpRoot,
      OCIDX_BENCH_ROOT: root
    })
    const last = run.stdout.trim().split("\n").at(-1) ?? ""
    if (run.status !== 0 || last === "") {
      console.error(`bench/${name}.ts failed (exit ${run.status ?? run.signal})${json ? `: ${run.stderr}` : ""}`)
      failed.push(name)
      process.exitCode = 1
      continue
    }
    reports.push({ ...JSON.parse(last), seconds: Math.round((Date.now() - groupStarted) / 100) / 10 })
  }
} finally {
  cleanUp()
}

const environment = {
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  cpus: NodeOs.cpus().length,
  cpuModel: NodeOs.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(NodeOs.totalmem() / 2 ** 30),
  tmpdir: NodeOs.tmpdir(),
  date: new Date().toISOString(),
  quick,
  cli: cliChoice.label,
  library:
    srcRoot === undefined
      ? "packages/core and packages/node of this tree"
      : `@ocidx/core and @ocidx/node from ${srcRoot}`,
  loadAverage: { start: loadAtStart, end: loadAverage() },
  seconds: Math.round((Date.now() - started) / 1000)
}

const targets = reports.flatMap((report) => report.targets.map((row) => ({ group: report.bench, ...row })))
const measurements = reports.flatMap((report) => report.measurements.map((row) => ({ group: report.bench, ...row })))
const scaling = reports.flatMap((report) => report.scaling)
const missing = [...new Set(reports.flatMap((report) => report.missing))]
const loads = reports.map((report) => ({ group: report.bench, seconds: report.seconds, ...report.load }))

/** How a series grows between consecutive sizes: the exponent b of time ~ size^b. */
const growth = (points) =>
  points.map((point, i) => {
    const previous = points[i - 1]
    if (previous === undefined || previous.x <= 0 || point.x <= previous.x) return { ...point, growth: "" }
    const sizeFactor = point.x / previous.x
    const timeFactor = point.medianMs / previous.medianMs
    const exponent = Math.log(timeFactor) / Math.log(sizeFactor)
    return {
      ...point,
      growth: `x${sizeFactor.toFixed(0)} ${point.unit} -> x${timeFactor.toFixed(2)} time (~n^${exponent.toFixed(2)})`
    }
  })
const seriesNames = [...new Set(scaling.map((point) => point.series))]
const scalingRows = seriesNames.flatMap((series) =>
  growth(scaling.filter((point) => point.series === series).sort((a, b) => a.x - b.x))
)

if (json) {
  console.log(
    JSON.stringify({ environment, targets, measurements, scaling: scalingRows, missing, loads, failed }, null, 2)
  )
} else {
  const table = (header, rows, leftAligned) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
    const line = (cells) =>
      cells
        .map((cell, i) => (leftAligned.includes(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join("  ")
        .trimEnd()
    console.log(line(header))
    console.log(widths.map((w) => "-".repeat(w)).join("  "))
    for (const row of rows) console.log(line(row))
    console.log("")
  }
  const ms = (value) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`)
  console.log(
    `ocidx bench - node ${environment.node}, ${environment.platform}, ${environment.cpus} CPUs (${environment.cpuModel}), ${environment.memoryGiB} GiB, temp dir ${environment.tmpdir}${quick ? ", --quick" : ""}`
  )
  console.log(`ocidx: ${environment.cli}`)
  if (srcRoot !== undefined) console.log(`library: ${environment.library}`)
  console.log(
    `load average ${environment.loadAverage.start} at start, ${environment.loadAverage.end} at end; ${environment.seconds} s in all\n`
  )
  console.log("TARGETS (ratio = ocidx / reference, lower is better)")
  table(
    ["target", "goal", "measured", "ratio", "limit", "result"],
    targets.map((row) => [
      row.id,
      row.target,
      row.measured,
      row.ratio === undefined ? "-" : `${row.ratio.toFixed(3)}`,
      row.limit === undefined ? "-" : `${Number(row.limit.toFixed(3))}`,
      row.pass === undefined ? "SKIP" : row.pass ? "PASS" : "MISS"
    ]),
    [0, 1, 2, 5]
  )
  const notes = targets.filter((row) => row.note !== undefined || row.ratioOf !== undefined)
  for (const row of notes) console.log(`  ${row.id}: ${[row.ratioOf, row.note].filter(Boolean).join("; ")}`)
  console.log("")
  console.log("MEASUREMENTS (wall time per repetition)")
  table(
    ["group", "measurement", "n", "median", "p90", "min", "note"],
    measurements.map((row) => [
      row.group,
      row.name,
      String(row.n),
      ms(row.medianMs),
      ms(row.p90Ms),
      ms(row.minMs),
      row.note ?? ""
    ]),
    [0, 1, 6]
  )
  if (scalingRows.length > 0) {
    console.log("SCALING")
    table(
      ["series", "size", "median", "growth from the previous size", "note"],
      scalingRows.map((row) => [
        row.series,
        `${row.x.toLocaleString("en-US")} ${row.unit}`,
        ms(row.medianMs),
        row.growth,
        row.note ?? ""
      ]),
      [0, 3, 4]
    )
  }
  console.log(
    `load average per group (1 min, before -> after): ${loads.map((l) => `${l.group} ${l.before} -> ${l.after} (${l.seconds} s)`).join(", ")}`
  )
  if (missing.length > 0) console.log(`missing peers (their rows are skipped): ${missing.join(", ")}`)
  if (failed.length > 0) console.log(`FAILED groups: ${failed.join(", ")}`)
}
