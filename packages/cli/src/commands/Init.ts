/**
 * `ocidx init <dir>`: creates an empty image layout, or completes one; changes nothing that is there.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Flags from "../Flags.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const init = Command.make(
  "init",
  { directory: Flags.directory, lockTimeout: Flags.lockTimeout },
  ({ directory }) =>
    Effect.gen(function* () {
      const layout = yield* openLayout(directory)
      yield* layout.init
      const stdio = yield* Stdio
      yield* stdio.out(`${directory}: OCI image layout ready (oci-layout, index.json, blobs/)\n`)
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Create an empty OCI image layout: the directory, oci-layout, an empty index.json and blobs/. Existing files are kept."
  )
)
