/**
 * `ocidx cat <dir> <name-or-tag-or-digest> [--platform ...]`: the blob an entry points to (usually its
 * manifest or index), verified against its digest, on stdout.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Flags from "../Flags.js"
import { Stdio } from "../Stdio.js"
import { lookup } from "../actions/Get.js"
import { nameArg } from "./Get.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const cat = Command.make(
  "cat",
  {
    directory: Flags.directory,
    name: nameArg,
    platform: Flags.platform("Descend a multi-arch index to the manifest for this platform."),
    lockTimeout: Flags.lockTimeout
  },
  ({ directory, name, platform }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const descriptor = yield* lookup(layout, Option.some(name), platform)
      yield* Stream.runForEach(layout.blobs.stream(descriptor.digest, { size: descriptor.size }), stdio.out)
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Write the blob an entry points to (its manifest or index) to stdout, checked against its digest and size."
  )
)
