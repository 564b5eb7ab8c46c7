/**
 * `ocidx rm <dir> <name-or-tag>...`: removes the entries each name finds (as `get` would), in one write.
 * Like `rm(1)`, it removes what it finds and reports what it did not (exit 1).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Annotations from "@ocidx/core/Annotations"
import type { Descriptor } from "@ocidx/core/Descriptor"
import { annotation } from "@ocidx/core/Descriptor"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import { NotFound } from "../CliError.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

const answersTo = (entry: Descriptor, x: string) =>
  annotation(entry, Annotations.containerdImageName) === x ||
  annotation(entry, Annotations.refName) === x ||
  entry.digest === x

/**
 * @since 0.1.0
 * @category commands
 */
export const rm = Command.make(
  "rm",
  {
    directory: Flags.directory,
    names: Flags.positionals(
      "name-or-tag",
      "An image name, a tag or a digest; every entry it finds is removed (as get finds them).",
      1
    ),
    lockTimeout: Flags.lockTimeout
  },
  ({ directory, names }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const removed = yield* layout.index.remove(names)
      if (removed.length > 0) {
        const lines = removed.map(
          (entry) => `${directory}: removed ${Output.entryName(entry)} -> ${Output.shortDigest(entry.digest)}`
        )
        yield* stdio.out(`${lines.join("\n")}\n`)
      }
      const missing = names.filter((x) => !removed.some((entry) => answersTo(entry, x)))
      if (missing.length > 0) {
        const list = missing.map(Text.quote).join(", ")
        return yield* new NotFound({
          message: `${layout.index.indexPath} has no entry named ${list}${removed.length > 0 ? " (the others were removed)" : ""}. List the entries with \`ocidx ls ${directory}\`.`
        })
      }
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Remove index entries by image name, tag or digest. Blobs stay until `ocidx gc`. Exit 1 if a name matched nothing."
  )
)
