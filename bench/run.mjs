// The ocidx benchmarks: `npm run bench [-- <name>...] [-- --json]`.
// Node 20 cannot run TypeScript, so this bundles each bench/*.ts program (and the worker programs the
// contention bench spawns) with esbuild into a temp directory, runs them one after another, and prints a
// table of medians and 90th percentiles, or with --json one JSON document. Timings are not asserted anywhere.
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const benchDir = NodePath.dirname(fileURLToPath(import.meta.url))
const root = NodePath.dirname(benchDir)
const workersDir = NodePath.join(root, "packages/node/test/support/workers")
// Files in bench/ that are shared code, not programs.
const libraries = new Set(["support.ts"])

const args = process.argv.slice(2)
const json = args.includes("--json")
const only = args.filter((arg) => !arg.startsWith("--"))

const programs = NodeFs.readdirSync(benchDir)
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && !libraries.has(file))
  .map((file) => file.slice(0, -".ts".length))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort()
if (programs.length === 0) {
  console.error(`no bench program matches ${only.join(", ")}`)
  process.exit(2)
}

// fs-ext is a native addon: the bundles live in a temp directory, so import it by its absolute path.
const fsExtPath = createRequire(import.meta.url).resolve("fs-ext")
const options = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@ocidx/source"],
  plugins: [
    {
      name: "fs-ext-by-path",
      setup(plugin) {
        plugin.onResolve({ filter: /^fs-ext$/ }, () => ({ path: fsExtPath, external: true }))
      }
    }
  ],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __ocidxCreateRequire } from 'node:module'; const require = __ocidxCreateRequire(import.meta.url);"
  },
  outExtension: { ".js": ".mjs" },
  legalComments: "none",
  logLevel: "warning"
}

const outDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-bench-build-"))
const results = []
try {
  await build({
    ...options,
    entryPoints: programs.map((name) => NodePath.join(benchDir, `${name}.ts`)),
    outdir: NodePath.join(outDir, "bench")
  })
  await build({
    ...options,
    entryPoints: ["put-worker", "buildkit-imitator", "reader"].map((name) => NodePath.join(workersDir, `${name}.ts`)),
    outdir: NodePath.join(outDir, "workers")
  })
  for (const name of programs) {
    if (!json) console.error(`running bench/${name}.ts ...`)
    const run = spawnSync(process.execPath, [NodePath.join(outDir, "bench", `${name}.mjs`)], {
      env: { ...process.env, OCIDX_WORKERS_DIR: NodePath.join(outDir, "workers") },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024
    })
    const last = run.stdout.trim().split("\n").at(-1) ?? ""
    if (run.status !== 0 || last === "") {
      console.error(`bench/${name}.ts failed (exit ${run.status ?? run.signal})`)
      process.exitCode = 1
      continue
    }
    results.push(...JSON.parse(last).results)
  }
} finally {
  NodeFs.rmSync(outDir, { recursive: true, force: true })
}

const environment = {
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  cpus: NodeOs.cpus().length,
  tmpdir: NodeOs.tmpdir(),
  date: new Date().toISOString()
}

if (json) {
  console.log(JSON.stringify({ environment, results }, null, 2))
} else {
  const header = ["benchmark", "n", "median ms", "p90 ms", "total ms", "target / note"]
  const rows = results.map((r) => [
    r.name,
    String(r.n),
    r.medianMs.toFixed(2),
    r.p90Ms.toFixed(2),
    r.totalMs.toFixed(0),
    [r.target, r.note].filter((x) => x !== undefined).join("; ")
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) =>
    cells.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
  console.log(
    `ocidx bench — node ${environment.node}, ${environment.platform}, ${environment.cpus} CPUs, temp dir ${environment.tmpdir}`
  )
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const row of rows) console.log(line(row))
}
