/**
 * A child process that puts `count` new tags into a layout one at a time through one `StoreIndex` (fsync on),
 * as bench/puts.ts does, for profiling the put path: `put-loop.mjs <layout> <count>` prints the median wall
 * and CPU milliseconds per put (CPU time shows the cost when other processes load the machine).
 */
import * as NodeCrypto from "node:crypto"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import * as Effect from "effect/Effect"
import { tagOf } from "../lib/fixtures.js"
import { median } from "../lib/support.js"

const [directory, countText] = process.argv.slice(2)
if (directory === undefined) throw new Error("usage: put-loop.mjs <layout> <count>")
const count = Number.parseInt(countText ?? "50", 10)

const program = Effect.gen(function* () {
  const store = yield* StoreIndex.make({ directory })
  const times: Array<number> = []
  const cpu: Array<number> = []
  for (let i = 0; i < count; i++) {
    const digest = `sha256:${NodeCrypto.createHash("sha256").update(`loop/${i}`).digest("hex")}`
    const started = performance.now()
    const cpuStarted = process.cpuUsage()
    yield* store.put({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 1234 }, [
      tagOf(`loop-${i}`)
    ])
    times.push(performance.now() - started)
    const used = process.cpuUsage(cpuStarted)
    cpu.push((used.user + used.system) / 1000)
  }
  return { puts: count, medianMs: median(times), medianCpuMs: median(cpu) }
}).pipe(Effect.provide(NodeServices.layer({ durability: process.env.OCIDX_DURABILITY === "none" ? "none" : "full" })))

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
