/**
 * `ocidx blob put <dir> <file|-> [--media-type <mt>]` adds content to `blobs/` and prints its descriptor;
 * `ocidx blob get <dir> <digest>` writes a blob, verified, to stdout. What `blob put` does is
 * `actions/BlobPut.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Digest from "@ocidx/core/Digest"
import * as Layout from "@ocidx/core/Layout"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BlobPut from "../actions/BlobPut.js"
import { openLayout } from "../actions/Layout.js"
import { InvalidInput } from "../CliError.js"
import * as Flags from "../Flags.js"
import { Stdio } from "../Stdio.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const blobPut = Command.make(
  "put",
  {
    directory: Flags.directory,
    source: Flags.positional("file|-", "The file to add, or - for standard input.", { allowStdin: true }),
    mediaType: Flags.mediaType("The media type for the printed descriptor."),
    lockTimeout: Flags.lockTimeout
  },
  BlobPut.blobPut
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Add a file (or stdin) to blobs/, hashed as it is written, atomically; print its descriptor as JSON."
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const blobGet = Command.make(
  "get",
  {
    directory: Flags.directory,
    digest: Flags.positional("digest", "The blob's digest, algorithm:hex."),
    lockTimeout: Flags.lockTimeout
  },
  ({ digest, directory }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const parsed = Digest.parse(digest)
      if (Option.isNone(parsed)) {
        return yield* new InvalidInput({
          message: `${Digest.problem(digest) ?? `${Text.quote(digest)} is not a digest`}.`
        })
      }
      yield* Layout.requireDirectory(directory)
      const layout = yield* openLayout(directory)
      yield* Stream.runForEach(layout.blobs.stream(parsed.value), stdio.out)
    })
).pipe(withLockTimeout, Command.withDescription("Write a blob to stdout, checked against its digest."))

/**
 * @since 0.1.0
 * @category commands
 */
export const blob = Command.make("blob").pipe(
  Command.withDescription("Add a blob to the layout, or read one."),
  Command.withSubcommands([blobPut, blobGet])
)
