/**
 * The library's floor under a whole `ocidx` process: a process that loads only @ocidx/core and @ocidx/node and
 * does one index operation, with no CLI around it. `list` prints the entries as JSON (what `ocidx ls --json`
 * prints); `put` puts one tag (what `ocidx put --digest --size` does).
 *
 *   library-once.mjs list <layout>
 *   library-once.mjs put <layout> <tag> <digest> <size>
 */
import * as Reference from "@ocidx/core/Reference"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

const [op, directory, tag, digest, size] = process.argv.slice(2)
if (directory === undefined || (op !== "list" && op !== "put")) {
  throw new Error("usage: library-once.mjs list <layout> | put <layout> <tag> <digest> <size>")
}

const program = Effect.gen(function* () {
  const store = yield* StoreIndex.make({ directory })
  if (op === "list") return yield* store.list
  if (tag === undefined || digest === undefined || size === undefined) throw new Error("put needs tag digest size")
  const name = Either.getOrThrowWith(Reference.tag(tag), (error) => new Error(error.problem))
  return yield* store.put({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: Number(size) }, [
    name
  ])
}).pipe(Effect.provide(NodeServices.layer({ durability: "full" })))

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result ?? null)),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
