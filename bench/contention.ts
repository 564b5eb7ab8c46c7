/**
 * The wall time of the contention run of packages/node/test/multiprocess.test.ts: 8 processes x 50 puts of
 * distinct tags into one layout (durability "full", default lock timeout), with the same worker program.
 * bench/run.mjs bundles the workers and passes their directory in OCIDX_WORKERS_DIR.
 */
import * as NodeFs from "node:fs/promises"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { workerScript } from "../packages/node/test/support/workerScripts.js"
import { spawnWorker } from "../packages/node/test/support/processes.js"
import { outputOf } from "../packages/node/test/support/workerOutput.js"
import { summarize } from "./support.js"

const processes = 8
const putsEach = 50

const workersDir = process.env.OCIDX_WORKERS_DIR
if (workersDir === undefined) throw new Error("OCIDX_WORKERS_DIR is not set: run this through bench/run.mjs")
const putWorker = workerScript(workersDir, "put-worker")

const program = Effect.scoped(
  Effect.gen(function* () {
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => NodeFs.mkdtemp(NodePath.join(NodeOs.tmpdir(), "ocidx-bench-"))),
      (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
    )
    const started = performance.now()
    const workers = yield* Effect.forEach(
      Array.from({ length: processes }, (_, w) => w),
      (w) =>
        spawnWorker(putWorker, ["--dir", dir, "--prefix", `w${w}`, "--count", String(putsEach), "--durability", "full"])
    )
    const exits = yield* Effect.forEach(workers, (worker) => worker.exited, { concurrency: "unbounded" })
    const wallMs = performance.now() - started
    const puts = workers.flatMap((worker) => outputOf(worker).puts)
    const failed = puts.filter((put) => !put.ok).length + exits.filter((exit) => exit.code !== 0).length
    const perPut = summarize(
      `contention: ${processes} processes x ${putsEach} puts, per put`,
      puts.flatMap((put) => (put.ok && put.ms !== undefined ? [put.ms] : [])),
      { note: "lock wait included" }
    )
    const wall = summarize(`contention: ${processes} x ${putsEach} puts, wall time`, [wallMs], {
      note: `${puts.filter((put) => put.ok).length} puts ok, ${failed} failed; process start-up included`
    })
    return [wall, perPut]
  })
)

Effect.runPromise(program).then(
  (results) => console.log(JSON.stringify({ bench: "contention", results })),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
