/**
 * A child process that runs one Layout operation through the library and reports how long the operation
 * itself took, without the process start-up or module loading around it:
 *
 *   layout-op.mjs verify|gc <layout> [verify concurrency]      prints {"op","ms","ok"|"removed"}
 */
import * as Layout from "@ocidx/core/Layout"
import * as NodeServices from "@ocidx/node/NodeServices"
import * as Effect from "effect/Effect"

const [op, directory, concurrencyText] = process.argv.slice(2)
const concurrency = concurrencyText === undefined ? undefined : Number.parseInt(concurrencyText, 10)
if ((op !== "verify" && op !== "gc") || directory === undefined) throw new Error("usage: layout-op.mjs verify|gc <dir>")

const program = Effect.gen(function* () {
  const layout = yield* Layout.make({ directory })
  const started = performance.now()
  if (op === "verify") {
    const report = yield* layout.verify(concurrency === undefined ? {} : { concurrency })
    return { op, ms: performance.now() - started, ok: report.ok, blobsChecked: report.blobsChecked }
  }
  // No grace period: the garbage was written moments ago, and the default hour would keep all of it.
  const report = yield* layout.gc({ grace: 0 })
  return { op, ms: performance.now() - started, removed: report.removed.length }
}).pipe(Effect.provide(NodeServices.layer({ durability: "full" })))

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
