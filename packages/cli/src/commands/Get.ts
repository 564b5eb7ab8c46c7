/**
 * `ocidx get <dir> [<name-or-tag-or-digest>] [--platform os/arch[/variant]] [--json]`: the descriptor an
 * entry holds (or, with `--platform`, the manifest for that platform inside a multi-arch index), as JSON.
 * What it does is `actions/Get.ts`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Actions from "../actions/Get.js"
import * as Flags from "../Flags.js"
import { withLockTimeout } from "./Root.js"

/**
 * The name argument of `get` and `cat`.
 *
 * @since 0.1.0
 * @category args
 */
export const nameArg = Args.text({ name: "name-or-tag-or-digest" }).pipe(
  Args.withDescription("An image name (io.containerd.image.name), a tag (ref.name) or a digest, tried in that order.")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const get = Command.make(
  "get",
  {
    directory: Flags.directory,
    name: Args.optional(nameArg),
    platform: Flags.platform("Descend a multi-arch index to the manifest for this platform."),
    json: Flags.json,
    lockTimeout: Flags.lockTimeout
  },
  Actions.get
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Print the descriptor of an entry as JSON. Without a name, the index's only entry. --platform descends a multi-arch index."
  )
)
