/** @internal */
import * as Effect from "effect/Effect"
import * as Descriptor from "../Descriptor.js"
import * as Hasher from "../Hasher.js"
import * as ImageIndex from "../ImageIndex.js"
import * as OciLayout from "../OciLayout.js"
import * as Reference from "../Reference.js"
import type { LayoutSeed, MemoryFileSystem, Seed } from "../testing.js"
import * as IndexCodec from "./indexCodec.js"

const encoder = new TextEncoder()

const bytesOf = (content: string | Uint8Array): Uint8Array =>
  typeof content === "string" ? encoder.encode(content) : content

const isDirectoryList = (layouts: NonNullable<Seed["layouts"]>): layouts is ReadonlyArray<string> =>
  Array.isArray(layouts)

const layoutsOf = (layouts: Seed["layouts"]): ReadonlyArray<readonly [string, LayoutSeed]> =>
  layouts === undefined
    ? []
    : isDirectoryList(layouts)
      ? layouts.map((directory): readonly [string, LayoutSeed] => [directory, {}])
      : Object.entries(layouts)

/** The layout as `Layout.init` leaves it, then its blobs and its tagged index.json, written by the core's own codec. */
const seedLayout = (memory: MemoryFileSystem, directory: string, seed: LayoutSeed) =>
  Effect.gen(function* () {
    memory.makeDirectory(`${directory}/blobs/sha256`)
    memory.writeText(`${directory}/oci-layout`, OciLayout.defaultContent)
    for (const content of seed.blobs ?? []) {
      const bytes = bytesOf(content)
      const hash = Hasher.webCrypto.make("sha256")
      hash.update(bytes)
      memory.writeText(`${directory}/blobs/sha256/${yield* hash.digest}`, bytes)
    }
    const indexPath = `${directory}/index.json`
    const requests = yield* Effect.forEach(Object.entries(seed.tags ?? {}), ([tag, input]) =>
      Effect.gen(function* () {
        const descriptor = yield* Descriptor.decodeUnknown(`the descriptor seeded as ${tag} in ${indexPath}`)(input)
        return { descriptor, names: [yield* Reference.tag(tag)] }
      })
    )
    const { index } = ImageIndex.putAll(ImageIndex.empty, requests)
    memory.writeText(indexPath, yield* IndexCodec.encode(indexPath, index))
  })

/**
 * Lays out layouts, then directories, then files, so a file can replace what a layout seeded. An invalid seed
 * is a bug in the test, not a failure of the program under test: it dies.
 * @internal
 */
export const seed = (memory: MemoryFileSystem, seed: Seed): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (const [directory, layout] of layoutsOf(seed.layouts)) yield* seedLayout(memory, directory, layout)
    for (const directory of seed.directories ?? []) memory.makeDirectory(directory)
    for (const [path, content] of Object.entries(seed.files ?? {})) memory.writeText(path, content)
  }).pipe(Effect.orDie)
