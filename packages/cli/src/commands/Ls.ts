/**
 * `ocidx ls <dir> [--json] [--sizes]`: the index's entries, as a table or as stored; with `--sizes`, what each
 * costs (the bytes of every blob it reaches, and of those only it reaches). What it does is `actions/Ls.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Actions from "../actions/Ls.js"
import * as Flags from "../Flags.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const ls = Command.make(
  "ls",
  {
    directory: Flags.directory,
    json: Flags.json,
    sizes: Options.boolean("sizes").pipe(
      Options.withDescription(
        'Add each entry\'s TOTAL (every blob it reaches) and UNIQUE size (the blobs only it reaches: what removing it frees); with --json, a "sizes" member {"total", "unique"} in bytes.'
      )
    ),
    lockTimeout: Flags.lockTimeout
  },
  Actions.ls
).pipe(
  withLockTimeout,
  Command.withDescription(
    "List the entries of index.json: name (or tag), digest, media type, size and platform. --json prints them as stored; --sizes adds what each entry costs."
  )
)
