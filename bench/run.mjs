// The ocidx benchmarks:
//   npm run bench [-- <group>...] [-- --quick] [-- --json] [-- --write-results[=<file>]] [-- --node=<node>]
//                 [-- --also-node=<node>] [-- --cli=built|<bin>] [-- --src=<tree>]
//
// Node 20 cannot run TypeScript, so this bundles each bench/*.ts program (a group: puts, cli, contention,
// verify, gc, blobs, registry, archive) and the worker programs they spawn with esbuild into a temp directory,
// runs the groups one after another, and prints first the table of issue 14's targets (every row, ocidx against
// its peer, from this one run), then the earlier issues' targets, every measurement and the scaling series;
// with --json, one JSON document. --quick skips the 1 and 2 GiB cases (the copies move 128 MiB).
// --write-results fills bench/RESULTS.template.md with this run's data into bench/RESULTS.md (or <file>).
// --node=<node> runs the groups, their workers and ocidx with that node binary (its directory goes first on
// PATH, so the ocidx launcher starts it too); --also-node=<node> runs the cli group's start-up rows again with
// a second node, so the `ocidx ls` row is reported for both.
// The ocidx measured is the built command (packages/cli/bin/ocidx) when it is current, else a bundle of
// packages/cli/src made here (see chooseCli in bench/lib/build.mjs).
// --src=<tree> takes @ocidx/core and @ocidx/node from another tree (e.g. `git archive <commit> packages | tar
// -x -C <tree>`), to measure a before and an after with the same bench. Nothing is installed: a missing peer
// tool (umoci, sha256sum, python3, cc, /usr/bin/time, skopeo, docker-registry) is named and its rows are
// skipped. Timings are only reported, never asserted.
import { spawn, spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { benchDir, bundle, bundleCli, chooseCli, root } from "./lib/build.mjs"
import { consolidate, markdownReport, textReport } from "./lib/report.mjs"

const testWorkersDir = NodePath.join(root, "packages/node/test/support/workers")
const benchWorkersDir = NodePath.join(benchDir, "workers")
// The order groups run in: the cheap ones first, the large files last.
const order = ["puts", "cli", "contention", "verify", "gc", "blobs", "registry", "archive"]

const usage =
  "usage: node bench/run.mjs [group...] [--quick] [--json] [--write-results[=<file>]] [--node=<node>] [--also-node=<node>] [--cli=built|<ocidx bin>] [--src=<tree>]"
const args = process.argv.slice(2)
const json = args.includes("--json")
const quick = args.includes("--quick")
const optionValue = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(`--${name}=`.length)
const cliArg = optionValue("cli")
const srcArg = optionValue("src")
const srcRoot = srcArg === undefined ? undefined : NodePath.resolve(srcArg)
const resultsFile = args.includes("--write-results")
  ? NodePath.join(benchDir, "RESULTS.md")
  : optionValue("write-results") === undefined
    ? undefined
    : NodePath.resolve(optionValue("write-results"))
const valued = ["cli", "src", "node", "also-node", "write-results"]
const unknownFlags = args.filter(
  (arg) =>
    arg.startsWith("--") &&
    !["--json", "--quick", "--write-results"].includes(arg) &&
    !valued.some((name) => arg.startsWith(`--${name}=`))
)
if (unknownFlags.length > 0) {
  console.error(`unknown option ${unknownFlags.join(" ")}; ${usage}`)
  process.exit(2)
}
const only = args.filter((arg) => !arg.startsWith("--"))

/** A node binary given on the command line: its absolute path and version, or exit. */
const nodeFrom = (path) => {
  if (path === undefined) return undefined
  const binary = NodePath.resolve(path)
  const run = spawnSync(binary, ["-p", "process.version"], { encoding: "utf8" })
  if (run.status !== 0) {
    console.error(`${path} is not a node binary that runs: ${run.error?.message ?? run.stderr}`)
    process.exit(2)
  }
  return { binary, version: run.stdout.trim() }
}
const mainNode = nodeFrom(optionValue("node")) ?? { binary: process.execPath, version: process.version }
const otherNode = nodeFrom(optionValue("also-node"))

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

const cliChoice = chooseCli({ cliArg, srcRoot })
if (cliChoice.error !== undefined) {
  console.error(cliChoice.error)
  process.exit(2)
}

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

const runGroup = (name, node, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(node, [NodePath.join(outDir, "bench", `${name}.mjs`)], {
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
const diskFreeAtStart = (() => {
  try {
    const stats = NodeFs.statfsSync(NodeOs.tmpdir())
    return Math.round(((stats.bavail * stats.bsize) / 2 ** 30) * 10) / 10
  } catch {
    return "unknown"
  }
})()
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
  const runs = groups.map((name) => ({ name, node: mainNode, env: {} }))
  if (otherNode !== undefined && groups.includes("cli")) {
    runs.splice(groups.indexOf("cli") + 1, 0, { name: "cli", node: otherNode, env: { OCIDX_BENCH_STARTUP_ONLY: "1" } })
  }
  for (const { env, name, node } of runs) {
    say(`running bench/${name}.ts with node ${node.version} ...`)
    const groupStarted = Date.now()
    const run = await runGroup(name, node.binary, {
      ...process.env,
      // The ocidx launcher (a shell script) runs the `node` on PATH: make it this one.
      PATH: `${NodePath.dirname(node.binary)}${NodePath.delimiter}${process.env.PATH ?? ""}`,
      OCIDX_CLI: cli,
      OCIDX_WORKERS_DIR: NodePath.join(outDir, "workers"),
      OCIDX_BENCH_WORKERS: NodePath.join(outDir, "bench-workers"),
      OCIDX_BENCH_QUICK: quick ? "1" : "0",
      OCIDX_BENCH_TMP: tmpRoot,
      OCIDX_BENCH_ROOT: root,
      ...env
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

/** A peer's version line, or "not installed". */
const versionOf = (command, versionArgs) => {
  const run = spawnSync(command, versionArgs, { encoding: "utf8", timeout: 10_000 })
  if (run.error !== undefined || run.status !== 0) return "not installed"
  return `${run.stdout}${run.stderr}`.trim().split("\n")[0]
}

const environment = {
  command: ["node", "bench/run.mjs", ...args].join(" "),
  nodes: [
    ...new Set(reports.length === 0 ? [mainNode.version] : reports.map((report) => report.node ?? mainNode.version))
  ],
  nodeBinaries: [mainNode.binary, ...(otherNode === undefined ? [] : [otherNode.binary])],
  extraCaCerts: process.env.NODE_EXTRA_CA_CERTS !== undefined && process.env.NODE_EXTRA_CA_CERTS !== "",
  platform: `${process.platform}/${process.arch}`,
  kernel: NodeOs.release(),
  cpus: NodeOs.cpus().length,
  cpuModel: NodeOs.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(NodeOs.totalmem() / 2 ** 30),
  tmpdir: NodeOs.tmpdir(),
  diskFreeGiB: diskFreeAtStart,
  date: new Date(started).toISOString(),
  quick,
  cli: cliChoice.label,
  library:
    srcRoot === undefined
      ? "packages/core and packages/node of this tree"
      : `@ocidx/core and @ocidx/node from ${srcRoot}`,
  loadAverage: { start: loadAtStart, end: loadAverage() },
  seconds: Math.round((Date.now() - started) / 1000)
}
const peers = [
  { name: "umoci", version: versionOf("umoci", ["--version"]) },
  { name: "skopeo", version: versionOf("skopeo", ["--version"]) },
  { name: "sha256sum", version: versionOf("sha256sum", ["--version"]) },
  { name: "python3", version: versionOf("python3", ["--version"]) },
  { name: "cc (for bench/reference/flock_writer.c)", version: versionOf("cc", ["--version"]) }
]

const withNode = (report, row) => ({ group: report.bench, node: report.node, ...row })
const targets = reports.flatMap((report) => report.targets.map((row) => withNode(report, row)))
const measurements = reports.flatMap((report) => report.measurements.map((row) => withNode(report, row)))
const scaling = reports.flatMap((report) => report.scaling)
const missing = [...new Set(reports.flatMap((report) => report.missing))]
const loads = reports.map((report) => ({
  group: report.bench,
  node: report.node,
  seconds: report.seconds,
  ...report.load
}))
const headline = consolidate(reports, groups, failed)

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

const data = { environment, peers, headline, targets, measurements, scaling: scalingRows, missing, loads, failed }
if (json) console.log(JSON.stringify(data, null, 2))
else console.log(textReport(data))
if (resultsFile !== undefined) {
  const template = NodeFs.readFileSync(NodePath.join(benchDir, "RESULTS.template.md"), "utf8")
  NodeFs.writeFileSync(resultsFile, markdownReport(data, template))
  say(`wrote ${NodePath.relative(process.cwd(), resultsFile)}`)
}
