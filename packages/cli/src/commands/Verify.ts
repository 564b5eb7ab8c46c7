/**
 * `ocidx verify <dir> [--json] [--strict]`: checks the layout (index, manifests, blob digests and sizes)
 * and reports; changes nothing. Exit 1 when there is an error. What it does is `actions/Verify.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Actions from "../actions/Verify.js"
import * as Flags from "../Flags.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const verify = Command.make(
  "verify",
  {
    directory: Flags.directory,
    json: Flags.json,
    strict: Options.boolean("strict").pipe(
      Options.withDescription("Treat referenced blobs that are missing as errors, not warnings.")
    ),
    lockTimeout: Flags.lockTimeout
  },
  Actions.verify
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Check the layout: index.json, every reachable manifest and index, and every blob's digest and size. Changes nothing; exit 1 on errors."
  )
)
