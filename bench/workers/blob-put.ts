/**
 * A child process that adds one file to a layout's blobs through the library, the way `ocidx blob put <file>`
 * does (`BlobStore.putFile`: one coarse copy on NodeLayoutFiles), so its time and peak RSS are the library's
 * without the CLI around it.
 *
 *   blob-put.mjs <layout> <file>      prints {"digest","size","ms"}
 */
import * as BlobStore from "@ocidx/core/BlobStore"
import * as NodeServices from "@ocidx/node/NodeServices"
import * as Effect from "effect/Effect"

const [directory, file] = process.argv.slice(2)
if (directory === undefined || file === undefined) throw new Error("usage: blob-put.mjs <layout> <file>")

const program = Effect.gen(function* () {
  const blobs = yield* BlobStore.make({ directory })
  const started = performance.now()
  const info = yield* blobs.putFile(file)
  return { ...info, ms: performance.now() - started }
}).pipe(Effect.provide(NodeServices.layer({ durability: process.env.OCIDX_DURABILITY === "none" ? "none" : "full" })))

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
