/**
 * The start-up floor of any Effect program: a process that loads Effect's runtime and runs one effect, and with
 * `schema`, also decodes one small struct with effect/Schema (ocidx validates every read with it). The `ls`
 * row reports its time beside `node -e 0`: what a command built on Effect cannot go below.
 *
 *   floor-effect.mjs [schema]
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Entry = Schema.Struct({ mediaType: Schema.String, size: Schema.Number })

const program =
  process.argv[2] === "schema"
    ? Schema.decodeUnknown(Entry)({ mediaType: "application/vnd.oci.image.index.v1+json", size: 1 })
    : Effect.succeed({ size: 1 })

process.stdout.write(`${JSON.stringify(Effect.runSync(program))}\n`)
