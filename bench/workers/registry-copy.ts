/**
 * A child process that copies an image through the library alone (`Copy.copy` with `NodeRegistry`'s client,
 * the one `ocidx copy` uses, with no credentials, durability full), so its time and peak RSS are the library's
 * without the CLI around it; `registry.ts` measures it beside `ocidx push` and `pull`.
 *
 *   registry-copy.mjs <source> <destination>      skopeo syntax (oci:<dir>:<tag>, docker://...); prints
 *                                                {"digest","bytes","ms"}
 */
import * as Copy from "@ocidx/core/Copy"
import * as Credentials from "@ocidx/core/Credentials"
import * as NodeHasher from "@ocidx/node/NodeHasher"
import * as NodeRegistry from "@ocidx/node/NodeRegistry"
import * as NodeServices from "@ocidx/node/NodeServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

const [sourceText, destinationText] = process.argv.slice(2)
if (sourceText === undefined || destinationText === undefined) {
  throw new Error("usage: registry-copy.mjs <source> <destination>")
}
const parse = (text: string) => Either.getOrThrowWith(Copy.parseLocation(text), (error) => new Error(String(error)))
const source = parse(sourceText)
const destination = parse(destinationText)

const registry = NodeRegistry.layerWithoutCredentials().pipe(Layer.provide(Credentials.layerStatic()))

const program = Effect.gen(function* () {
  const started = performance.now()
  const result = yield* Copy.copy(source, destination)
  return { digest: result.manifest.digest, bytes: result.bytes, ms: performance.now() - started }
}).pipe(Effect.provide(Layer.mergeAll(registry, NodeServices.layer({ durability: "full" }), NodeHasher.layer)))

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
