/**
 * Contention: 8 processes x 50 puts of distinct tags into one fresh layout, fsync on, all started at once.
 * ocidx runs the put-worker of packages/node/test (the library on NodeServices, default lock timeout); the
 * reference is bench/reference/flock_writer.py, a correct flock writer (blocking LOCK_EX on index.json.lock,
 * read, append, temp file + fsync + rename, unlock, never unlink), run the same way. Each run must lose
 * nothing (400 entries, every tag present); the target compares the median wall times.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import {
  environment,
  formatMs,
  log,
  makeTempDir,
  median,
  removeDir,
  runGroup,
  skipped,
  summarize,
  target,
  which
} from "./lib/support.js"

const processes = 8
const putsEach = 50
const rounds = 5

/** Starts `processes` children at once and resolves when all have exited; returns the wall time. */
const runAll = (
  spawnOne: (w: number) => ChildProcess.ChildProcess
): Promise<{ readonly ms: number; readonly outputs: ReadonlyArray<string>; readonly codes: ReadonlyArray<number> }> => {
  const started = performance.now()
  const children = Array.from({ length: processes }, (_, w) => {
    const child = spawnOne(w)
    let output = ""
    let errors = ""
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (chunk: string) => {
      output += chunk
    })
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk: string) => {
      errors += chunk
    })
    return new Promise<{ readonly output: string; readonly code: number }>((resolve, reject) => {
      child.on("error", reject)
      child.on("close", (code) => {
        if (errors.trim() !== "") process.stderr.write(errors)
        resolve({ output, code: code ?? -1 })
      })
    })
  })
  return Promise.all(children).then((results) => ({
    ms: performance.now() - started,
    outputs: results.map((r) => r.output),
    codes: results.map((r) => r.code)
  }))
}

/** How many of the expected tags index.json holds, and how many entries it has. */
const countTags = (dir: string): { readonly entries: number; readonly found: number } => {
  const index: unknown = JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8"))
  const manifests: ReadonlyArray<unknown> =
    typeof index === "object" && index !== null && "manifests" in index && Array.isArray(index.manifests)
      ? index.manifests
      : []
  const tags = new Set<string>()
  for (const entry of manifests) {
    if (typeof entry !== "object" || entry === null || !("annotations" in entry)) continue
    const annotations = entry.annotations
    if (typeof annotations !== "object" || annotations === null) continue
    const tag: unknown = Object.getOwnPropertyDescriptor(annotations, "org.opencontainers.image.ref.name")?.value
    if (typeof tag === "string") tags.add(tag)
  }
  let found = 0
  for (let w = 0; w < processes; w++) for (let i = 0; i < putsEach; i++) if (tags.has(`w${w}-${i}`)) found++
  return { entries: manifests.length, found }
}

interface Run {
  readonly ms: number
  readonly lost: number
  readonly failedPuts: number
}

await runGroup("contention", async ({ measurements, missing, targets }) => {
  const workers = environment.testWorkers
  if (workers === undefined) throw new Error("OCIDX_WORKERS_DIR is not set: run this through bench/run.mjs")
  const putWorker = NodePath.join(workers, "put-worker.mjs")
  const python = which("python3")
  const writer = NodePath.join(environment.root, "bench", "reference", "flock_writer.py")
  if (python === undefined) missing.push("python3")

  const once = async (kind: "ocidx" | "python" | "python-fsync-dir"): Promise<Run> => {
    const dir = makeTempDir(`ocidx-bench-contention-${kind}-`)
    try {
      const run = await runAll((w) =>
        kind === "ocidx"
          ? ChildProcess.spawn(
              process.execPath,
              [putWorker, "--dir", dir, "--prefix", `w${w}`, "--count", String(putsEach), "--durability", "full"],
              { stdio: ["ignore", "pipe", "pipe"] }
            )
          : ChildProcess.spawn(
              python ?? "python3",
              [
                writer,
                "--dir",
                dir,
                "--prefix",
                `w${w}`,
                "--count",
                String(putsEach),
                ...(kind === "python-fsync-dir" ? ["--fsync-dir"] : [])
              ],
              { stdio: ["ignore", "pipe", "pipe"] }
            )
      )
      const failedPuts =
        kind === "ocidx"
          ? run.outputs.reduce((sum, out) => sum + (out.match(/"ok":false/g)?.length ?? 0), 0)
          : run.outputs.reduce((sum, out) => sum + Number(/"failed": (\d+)/.exec(out)?.[1] ?? 0), 0)
      const { entries, found } = countTags(dir)
      if (run.codes.some((code) => code !== 0)) log(`${kind}: exit codes ${run.codes.join(",")}`)
      if (entries !== found) log(`${kind}: index.json has ${entries} entries for ${found} expected tags`)
      return { ms: run.ms, lost: processes * putsEach - found, failedPuts }
    } finally {
      removeDir(dir)
    }
  }

  const kinds = python === undefined ? (["ocidx"] as const) : (["ocidx", "python", "python-fsync-dir"] as const)
  const runs = new Map<string, Array<Run>>(kinds.map((kind) => [kind, []]))
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      log(`round ${round + 1}/${rounds}: ${kind}, ${processes} x ${putsEach} puts`)
      runs.get(kind)?.push(await once(kind))
    }
  }
  const describe = (kind: string): { readonly ms: number; readonly lost: number; readonly failed: number } => {
    const list = runs.get(kind) ?? []
    const lost = list.reduce((sum, run) => sum + run.lost, 0)
    const failed = list.reduce((sum, run) => sum + run.failedPuts, 0)
    measurements.push(
      summarize(
        `${processes} x ${putsEach} puts, wall time: ${kind === "ocidx" ? "ocidx (put-worker, library)" : kind === "python" ? "flock_writer.py" : "flock_writer.py --fsync-dir"}`,
        list.map((run) => run.ms),
        `${list.length} runs; ${lost} tags lost, ${failed} puts failed in all; process start-up included`
      )
    )
    return { ms: median(list.map((run) => run.ms)), lost, failed }
  }
  const ocidx = describe("ocidx")
  targets.push({
    id: "contention 8x50 loses nothing",
    target: "0 tags lost, 0 puts failed",
    measured: `${ocidx.lost} lost, ${ocidx.failed} failed in ${rounds} runs`,
    pass: ocidx.lost === 0 && ocidx.failed === 0
  })
  if (python === undefined) {
    targets.push(skipped("contention 8x50 wall time", "<= the flock writer's", "python3 is not installed"))
    return
  }
  const py = describe("python")
  const pyDir = describe("python-fsync-dir")
  targets.push(
    target({
      id: "contention 8x50 wall time",
      target: "<= flock_writer.py's",
      measured: `${formatMs(ocidx.ms)} vs ${formatMs(py.ms)}`,
      ratio: ocidx.ms / py.ms,
      ratioOf: "ocidx / flock_writer.py",
      limit: 1,
      note: `the reference lost ${py.lost}; with --fsync-dir (ocidx's durability) it takes ${formatMs(pyDir.ms)}, ratio ${(ocidx.ms / pyDir.ms).toFixed(3)}`
    })
  )
})
