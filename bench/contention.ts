/**
 * Contention: 8 processes x 50 puts of distinct tags into one fresh layout, fsync on, all started at once.
 * ocidx runs the put-worker of packages/node/test (the library on NodeServices, default lock timeout); the
 * reference is bench/reference/flock_writer.py, a correct flock writer (blocking LOCK_EX on index.json.lock,
 * read, append, temp file + fsync + rename, unlock, never unlink), run the same way. Each run must lose
 * nothing (400 entries, every tag present); the target compares the median wall times.
 *
 * A compiled writer stands in for a Go store's (there is no Go toolchain here): bench/reference/flock_writer.c,
 * the same steps without an interpreter, built with the system's C compiler into the run's temp directory. Both
 * references run with and without --fsync-dir; issue 14's rows compare ocidx (which fsyncs the directory) with
 * each reference's --fsync-dir run. Without a C compiler the compiled writer's rows are skipped.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import {
  environment,
  formatMs,
  headline,
  headlineSkipped,
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

type Kind = "ocidx" | "python" | "python-fsync-dir" | "c" | "c-fsync-dir"

/** Compiles bench/reference/flock_writer.c into `dir`; the binary, or why there is none. */
const compileWriter = (dir: string): { readonly binary?: string; readonly why?: string } => {
  const cc = which("cc") ?? which("gcc") ?? which("clang")
  if (cc === undefined) return { why: "no C compiler (cc, gcc, clang) for bench/reference/flock_writer.c" }
  const binary = NodePath.join(dir, "flock_writer")
  const source = NodePath.join(environment.root, "bench", "reference", "flock_writer.c")
  const run = ChildProcess.spawnSync(cc, ["-O2", "-o", binary, source], { encoding: "utf8" })
  return run.status === 0
    ? { binary }
    : { why: `${cc} could not compile flock_writer.c: ${(run.stderr ?? "").trim().split("\n")[0]}` }
}

await runGroup("contention", async ({ headline: rows, measurements, missing, targets }) => {
  const workers = environment.testWorkers
  if (workers === undefined) throw new Error("OCIDX_WORKERS_DIR is not set: run this through bench/run.mjs")
  const putWorker = NodePath.join(workers, "put-worker.mjs")
  const python = which("python3")
  const writer = NodePath.join(environment.root, "bench", "reference", "flock_writer.py")
  if (python === undefined) missing.push("python3")
  const buildDir = makeTempDir("ocidx-bench-cc-")
  const compiled = compileWriter(buildDir)
  if (compiled.why !== undefined) {
    missing.push("cc")
    log(`the compiled writer is skipped: ${compiled.why}`)
  }

  const once = async (kind: Kind): Promise<Run> => {
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
              kind.startsWith("c") ? (compiled.binary ?? "flock_writer") : (python ?? "python3"),
              [
                ...(kind.startsWith("c") ? [] : [writer]),
                "--dir",
                dir,
                "--prefix",
                `w${w}`,
                "--count",
                String(putsEach),
                ...(kind.endsWith("fsync-dir") ? ["--fsync-dir"] : [])
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

  const kinds: ReadonlyArray<Kind> = [
    "ocidx",
    ...(python === undefined ? [] : (["python", "python-fsync-dir"] as const)),
    ...(compiled.binary === undefined ? [] : (["c", "c-fsync-dir"] as const))
  ]
  const runs = new Map<string, Array<Run>>(kinds.map((kind) => [kind, []]))
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      log(`round ${round + 1}/${rounds}: ${kind}, ${processes} x ${putsEach} puts`)
      runs.get(kind)?.push(await once(kind))
    }
  }
  const nameOf = (kind: string): string =>
    kind === "ocidx"
      ? "ocidx (put-worker, library)"
      : `flock_writer.${kind.startsWith("c") ? "c" : "py"}${kind.endsWith("fsync-dir") ? " --fsync-dir" : ""}`
  // Each kind's summary is measured once (the first call adds its measurement row).
  const described = new Map<string, { readonly ms: number; readonly lost: number; readonly failed: number }>()
  const describe = (kind: string): { readonly ms: number; readonly lost: number; readonly failed: number } => {
    const known = described.get(kind)
    if (known !== undefined) return known
    const list = runs.get(kind) ?? []
    const lost = list.reduce((sum, run) => sum + run.lost, 0)
    const failed = list.reduce((sum, run) => sum + run.failedPuts, 0)
    measurements.push(
      summarize(
        `${processes} x ${putsEach} puts, wall time: ${nameOf(kind)}`,
        list.map((run) => run.ms),
        `${list.length} runs; ${lost} tags lost, ${failed} puts failed in all; process start-up included`
      )
    )
    const summary = { ms: median(list.map((run) => run.ms)), lost, failed }
    described.set(kind, summary)
    return summary
  }
  const ocidx = describe("ocidx")
  // The floor under ocidx's wall time that is not the puts: 8 node processes started at once that do nothing.
  const starts: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    starts.push(
      (await runAll(() => ChildProcess.spawn(process.execPath, ["-e", "0"], { stdio: ["ignore", "pipe", "pipe"] }))).ms
    )
  }
  measurements.push(summarize(`${processes} x node -e 0, started at once`, starts, "the start-up floor of the above"))
  const floor = median(starts)
  targets.push({
    id: "contention 8x50 loses nothing",
    target: "0 tags lost, 0 puts failed",
    measured: `${ocidx.lost} lost, ${ocidx.failed} failed in ${rounds} runs`,
    pass: ocidx.lost === 0 && ocidx.failed === 0
  })
  removeDir(buildDir)
  const what = (peer: string) => `${processes} processes x ${putsEach} library puts (${peer}, +dir fsync)`
  const lostNote = `${ocidx.lost} lost, ${ocidx.failed} failed in ${rounds} runs`
  for (const [key, peer, plain, withDir, why] of [
    ["contention-c", "compiled flock writer", "c", "c-fsync-dir", compiled.why],
    [
      "contention-py",
      "flock_writer.py",
      "python",
      "python-fsync-dir",
      python === undefined ? "python3 is not installed" : undefined
    ]
  ] as const) {
    if (why !== undefined) {
      rows.push(headlineSkipped(key, what(peer), "<= 2.0x; 0 lost", why))
      continue
    }
    const peerDir = describe(withDir)
    const peerPlain = describe(plain)
    rows.push(
      headline({
        key,
        what: what(peer),
        ocidxMs: ocidx.ms,
        peerName: `${peer} --fsync-dir`,
        peerMs: peerDir.ms,
        target: "<= 2.0x; 0 lost",
        limit: 2,
        alsoMet: ocidx.lost === 0 && ocidx.failed === 0,
        note: `${lostNote}; without --fsync-dir the peer takes ${formatMs(peerPlain.ms)} (ratio ${(ocidx.ms / peerPlain.ms).toFixed(3)}), lost ${peerDir.lost + peerPlain.lost}; floor: ${processes} node -e 0 at once take ${formatMs(floor)}, ratio ${(floor / peerDir.ms).toFixed(3)} alone`
      })
    )
  }
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
