/**
 * `ocidx blob put <dir> <file|-> [--media-type <mt>]` adds content to `blobs/` and prints its descriptor;
 * `ocidx blob get <dir> <digest>` writes a blob, verified, to stdout.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Digest from "@ocidx/core/Digest"
import { ReadError } from "@ocidx/core/Errors"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { InvalidInput } from "../CliError.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

/** Files from this size up show progress (on a terminal). */
const largeFile = 32 * 1024 * 1024

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
  ({ directory, mediaType, source }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const fs = yield* FileSystem.FileSystem
      const checkedMediaType = Schema.decodeUnknownEither(MediaType.MediaType)(mediaType)
      if (Either.isLeft(checkedMediaType)) {
        return yield* new InvalidInput({
          message: `--media-type: ${Text.quote(mediaType)} is not a media type: expected type/subtype, e.g. application/vnd.oci.image.layer.v1.tar+gzip.`
        })
      }
      yield* Layout.requireDirectory(directory)
      const total =
        source === "-"
          ? Option.none<number>()
          : Option.some(
              Number((yield* fs.stat(source).pipe(Effect.mapError(ReadError.fromPlatformError(source)))).size)
            )
      const content =
        source === "-"
          ? stdio.stdin
          : fs
              .stream(source, { chunkSize: FileSystem.KiB(256) })
              .pipe(Stream.mapError(ReadError.fromPlatformError(source)))
      const layout = yield* openLayout(directory)
      const info = yield* Progress.withProgress((progress) => {
        const showProgress = Option.isSome(total) && total.value >= largeFile
        let written = 0
        const tracked = showProgress
          ? Stream.tap(content, (chunk) => {
              written += chunk.length
              return progress.update(
                `blob put ${Output.formatSize(written)} / ${Output.formatSize(Option.getOrElse(total, () => 0))}`
              )
            })
          : content
        return layout.blobs.put(tracked)
      })
      yield* stdio.out(Output.json({ mediaType: checkedMediaType.right, digest: info.digest, size: info.size }))
    })
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
