/**
 * What `ocidx ls` does once its arguments are parsed, shared by its @effect/cli command (commands/Ls.ts) and
 * the fast path (`FastPath.ts`): the index's entries, as a table or as stored; with `sizes`, what each costs
 * (the bytes of every blob it reaches, and of those only it reaches).
 *
 * @since 0.1.0
 */
import type { Descriptor } from "@ocidx/core/Descriptor"
import type { Layout } from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import type { EntrySize } from "@ocidx/core/Prune"
import * as Effect from "effect/Effect"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

/** An entry's PLATFORM cell: its own platform, or the platforms of the index it points at. */
const platformsOf = (layout: Layout, descriptor: Descriptor): Effect.Effect<string> => {
  if (descriptor.platform) return Effect.succeed(Output.formatPlatform(descriptor.platform))
  if (!MediaType.isIndex(descriptor.mediaType)) return Effect.succeed("-")
  return layout.content(descriptor).pipe(
    Effect.map((content) => {
      if (content._tag !== "Index") return "-"
      const platforms = content.index.manifests.flatMap((child) =>
        child.platform ? [Output.formatPlatform(child.platform)] : []
      )
      return platforms.length === 0 ? "-" : [...new Set(platforms)].join(",")
    }),
    // A table is no place for an error: `ocidx verify` explains a blob that cannot be read.
    Effect.orElseSucceed(() => "?")
  )
}

/** `ls --sizes`: the ls table with TOTAL and UNIQUE after SIZE. */
const sizesTable = (rows: ReadonlyArray<{ readonly size: EntrySize; readonly platforms: string }>): string =>
  Output.table(
    ["NAME", "DIGEST", "MEDIA TYPE", "SIZE", "TOTAL", "UNIQUE", "PLATFORM"],
    rows.map(({ platforms, size }) => [
      Output.entryName(size.descriptor),
      Output.shortDigest(size.descriptor.digest),
      size.descriptor.mediaType,
      Output.formatSize(size.descriptor.size),
      Output.formatSize(size.total),
      Output.formatSize(size.unique),
      platforms
    ])
  )

/**
 * @since 0.1.0
 * @category model
 */
export interface LsConfig {
  readonly directory: string
  readonly json: boolean
  readonly sizes: boolean
}

/**
 * `ocidx ls`.
 *
 * @since 0.1.0
 * @category actions
 */
export const ls = ({ directory, json, sizes }: LsConfig) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const layout = yield* openLayout(directory)
    if (sizes) {
      const costs = yield* layout.sizes
      // `ls --json --sizes`: each entry as stored, with one more member, `sizes`: {"total", "unique"} in bytes.
      if (json)
        return yield* stdio.out(Output.entriesDocument(costs, ({ total, unique }) => ({ sizes: { total, unique } })))
      const rows = yield* Effect.forEach(costs, (size) =>
        Effect.map(platformsOf(layout, size.descriptor), (platforms) => ({ size, platforms }))
      )
      return yield* stdio.out(sizesTable(rows))
    }
    const entries = yield* layout.index.list
    if (json) return yield* stdio.out(Output.entriesDocument(entries.map((descriptor) => ({ descriptor }))))
    const rows = yield* Effect.forEach(entries, (descriptor) =>
      Effect.map(platformsOf(layout, descriptor), (platforms) => ({ descriptor, platforms }))
    )
    yield* stdio.out(Output.lsTable(rows))
  })
