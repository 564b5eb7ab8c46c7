/**
 * `ocidx gc <dir> [--dry-run] [--json] [--force] [--grace <duration>]`: removes the blobs nothing in
 * index.json reaches and are older than the grace period, under the exclusive index lock (a dry run: the
 * shared one). What it does is `actions/Gc.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Actions from "../actions/Gc.js"
import * as Flags from "../Flags.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const gc = Command.make(
  "gc",
  {
    directory: Flags.directory,
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Report what would be removed; remove nothing.")),
    json: Flags.json,
    force: Options.boolean("force").pipe(
      Options.withDescription(
        "Go on when a reachable manifest cannot be read (the blobs only it references are then removed), or when index.json is blank (every blob is then removed)."
      )
    ),
    grace: Flags.grace,
    lockTimeout: Flags.lockTimeout
  },
  Actions.gc
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Remove blobs that nothing in index.json reaches, and ocidx temp files, once older than the grace period (1h; --grace). Blobs of untagged entries stay."
  )
)
