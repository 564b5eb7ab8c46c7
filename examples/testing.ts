/**
 * The README's testing example: a program built on ocidx, and the in-memory layers its tests run on, each
 * starting from a ready layout in one call. `packages/core/test/examples.test.ts` runs it.
 */
import { Annotations, Descriptor, Reference, StoreIndex, testing } from "@ocidx/core"
import { Effect, Option } from "effect"

// The program under test: give the image `from` points at a second tag, and list the tags.
export const promote = (directory: string, from: string, to: string) =>
  Effect.gen(function* () {
    const store = yield* StoreIndex.make({ directory })
    const found = yield* store.get(from)
    if (Option.isNone(found)) return yield* Effect.fail(`${directory} has no entry named ${from}`)
    yield* store.put(found.value, [yield* Reference.tag(to)])
    const entries = yield* store.list
    return entries.map((entry) => Descriptor.annotation(entry, Annotations.refName))
  })

const manifest = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
  size: 528
}

// In a test: an in-memory layout at /layout whose index.json tags `manifest` as v1 ...
export const promoted = promote("/layout", "v1", "stable").pipe(
  Effect.provide(testing.layer({ layouts: { "/layout": { tags: { v1: manifest } } } }))
)

// ... or an initialised, empty one, where the program must fail with its own error.
export const nothingToPromote = promote("/layout", "v1", "stable").pipe(
  Effect.provide(testing.layer({ layouts: ["/layout"] }))
)
