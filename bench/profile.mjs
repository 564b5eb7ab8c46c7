// Profiles one ocidx command on one bench fixture with `node --cpu-prof` and prints where the time goes.
//
//   node bench/profile.mjs <fixture...> -- <ocidx arguments, with {dir} and {file}>
//   node bench/profile.mjs blobs 10000 -- gc {dir} --grace 0
//   node bench/profile.mjs image 10000 8 32 -- verify {dir}
//   node bench/profile.mjs file 1024 -- blob put {dir} {file}
//   node bench/profile.mjs file 1024 -- @blob-put {dir} {file}     (a bench worker instead of the CLI)
//   node bench/profile.mjs image 10000 1 1 --src=/tmp/before -- @put-loop {dir} 60   (another tree's library)
//
// The fixture is made by bench/workers/make-layout.ts ({dir} is the layout; with `file`, {dir} is an empty
// layout and {file} the random file). The CLI is bundled from packages/cli/src. The profile is kept in
// --out=<dir> (default: <tmp>/ocidx-profiles); the fixture is removed unless --keep.
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { benchDir, bundle, bundleCli } from "./lib/build.mjs"

const argv = process.argv.slice(2)
const split = argv.indexOf("--")
if (split < 1 || split === argv.length - 1) {
  console.error("usage: node bench/profile.mjs <fixture...> [--keep] [--out=<dir>] [--src=<tree>] -- <ocidx arguments>")
  process.exit(2)
}
const before = argv.slice(0, split)
const keep = before.includes("--keep")
const out =
  before.find((arg) => arg.startsWith("--out="))?.slice("--out=".length) ??
  NodePath.join(NodeOs.tmpdir(), "ocidx-profiles")
const srcArg = before.find((arg) => arg.startsWith("--src="))?.slice("--src=".length)
const srcRoot = srcArg === undefined ? undefined : NodePath.resolve(srcArg)
const fixture = before.filter((arg) => !arg.startsWith("--"))
const command = argv.slice(split + 1)

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-profile-"))
const run = (args, options = {}) => {
  const result = spawnSync(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    ...options
  })
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited with ${result.status}`)
  return result.stdout
}
try {
  const cli = await bundleCli(NodePath.join(work, "cli"), srcRoot)
  const workers = NodePath.join(work, "bench-workers")
  await bundle(
    NodeFs.readdirSync(NodePath.join(benchDir, "workers"))
      .filter((file) => file.endsWith(".ts"))
      .map((file) => NodePath.join(benchDir, "workers", file)),
    workers,
    srcRoot
  )
  const dir = NodePath.join(work, "layout")
  const file = NodePath.join(work, "random.bin")
  const makeLayout = NodePath.join(workers, "make-layout.mjs")
  if (fixture[0] === "file") {
    run([makeLayout, ...fixture, file])
    run([cli, "init", dir])
  } else {
    run([makeLayout, ...fixture, dir])
  }
  spawnSync("sync")
  const args = command.map((arg) => arg.replaceAll("{dir}", dir).replaceAll("{file}", file))
  const program = args[0]?.startsWith("@")
    ? [NodePath.join(workers, `${args[0].slice(1)}.mjs`), ...args.slice(1)]
    : [cli, ...args]
  NodeFs.mkdirSync(out, { recursive: true })
  const started = performance.now()
  const result = spawnSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${out}`, ...program], {
    stdio: ["ignore", args[0]?.startsWith("@") ? "inherit" : "ignore", "inherit"]
  })
  const wall = performance.now() - started
  const profiles = NodeFs.readdirSync(out)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => NodePath.join(out, name))
    .sort((a, b) => NodeFs.statSync(b).mtimeMs - NodeFs.statSync(a).mtimeMs)
  const profile = profiles[0]
  console.log(`ocidx ${command.join(" ")}: exit ${result.status}, ${wall.toFixed(0)} ms wall (profiling on)`)
  if (profile !== undefined) {
    console.log(`profile: ${profile}`)
    summarize(JSON.parse(NodeFs.readFileSync(profile, "utf8")))
  }
  if (keep) console.log(`fixture kept in ${work}`)
} finally {
  if (!keep) NodeFs.rmSync(work, { recursive: true, force: true })
}

/** Prints self time by bundle file, and self and inclusive time by function. */
function summarize(prof) {
  const byId = new Map(prof.nodes.map((node) => [node.id, node]))
  const parent = new Map()
  for (const node of prof.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const sampled = new Map()
  for (const [i, id] of prof.samples.entries()) sampled.set(id, (sampled.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0))
  const key = (frame) =>
    `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-1)[0]}:${frame.lineNumber + 1}`
  const self = new Map()
  const inclusive = new Map()
  let total = 0
  for (const [id, us] of sampled) {
    total += us
    const frame = byId.get(id).callFrame
    self.set(key(frame), (self.get(key(frame)) ?? 0) + us)
    const seen = new Set()
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at).callFrame)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
  const top = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`)
      .join("\n")
  console.log(
    `sampled ${(total / 1000).toFixed(1)} ms\nself time:\n${top(self, 25)}\ninclusive time:\n${top(inclusive, 40)}`
  )
}
