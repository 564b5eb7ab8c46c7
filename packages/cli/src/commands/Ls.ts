/**
 * `ocidx ls <dir> [--json]`: the index's entries, as a table or as stored.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type { Descriptor } from "@ocidx/core/Descriptor"
import type { Layout } from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect } from "effect"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout, withLockTimeout } from "./Root.js"

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

/**
 * @since 0.1.0
 * @category commands
 */
export const ls = Command.make(
  "ls",
  { directory: Flags.directory, json: Flags.json, lockTimeout: Flags.lockTimeout },
  ({ directory, json }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const entries = yield* layout.index.list
      if (json) return yield* stdio.out(Output.json(entries))
      const rows = yield* Effect.forEach(entries, (descriptor) =>
        Effect.map(platformsOf(layout, descriptor), (platforms) => ({ descriptor, platforms }))
      )
      yield* stdio.out(Output.lsTable(rows))
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "List the entries of index.json: name (or tag), digest, media type, size and platform. --json prints them as stored."
  )
)
