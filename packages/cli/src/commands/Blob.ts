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
import * as Schedule from "effect/Schedule"
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
 * What `file` names when it is a symbolic link, so that a linked file is copied as fast as any other: the
 * source is the user's, outside the layout, and a link to it has always been followed. Else `file`.
 */
const followLink = (fs: FileSystem.FileSystem, file: string): Effect.Effect<string> =>
  fs.readLink(file).pipe(
    Effect.flatMap(() => fs.realPath(file)),
    Effect.orElseSucceed(() => file)
  )

/**
 * Adds the file `source` of `total` bytes: copied by `BlobStore.putFile` when it is a regular file (`regular`,
 * by a stat that followed links), streamed when it is not: a FIFO or a device can still be read to its end, and
 * is not opened twice. On a terminal, from `largeFile` up, the bytes written so far are drawn.
 */
const putSource = (layout: Layout.Layout, fs: FileSystem.FileSystem, source: string, total: number, regular: boolean) =>
  Progress.withProgress((progress) => {
    const showProgress = total >= largeFile
    let written = 0
    const draw = Effect.suspend(() =>
      progress.update(`blob put ${Output.formatSize(written)} / ${Output.formatSize(total)}`)
    )
    const copied = Effect.gen(function* () {
      const file = yield* followLink(fs, source)
      // The copy tells its progress synchronously, from its own loop; a fiber of ours draws it.
      if (showProgress) yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced("100 millis")))
      return yield* layout.blobs.putFile(file, {
        onProgress: (bytes) => {
          written = bytes
        }
      })
    })
    const streamed = Effect.suspend(() => {
      const content = fs
        .stream(source, { chunkSize: FileSystem.KiB(256) })
        .pipe(Stream.mapError(ReadError.fromPlatformError(source)))
      return layout.blobs.put(
        showProgress
          ? Stream.tap(content, (chunk) => {
              written += chunk.length
              return draw
            })
          : content
      )
    })
    if (!regular) return streamed
    return Effect.scoped(copied).pipe(
      // Swapped for a link or a FIFO after the stat, the file is refused unread (the only ReadErrors of
      // putFile are the file's): streamed after all.
      Effect.catchIf(
        (error) => error._tag === "ReadError" && (error.reason === "not-a-file" || error.reason === "symlink"),
        () => streamed
      )
    )
  })

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
      const info =
        source === "-"
          ? Option.none()
          : Option.some(yield* fs.stat(source).pipe(Effect.mapError(ReadError.fromPlatformError(source))))
      const layout = yield* openLayout(directory)
      const added = yield* Option.match(info, {
        onNone: () => layout.blobs.put(stdio.stdin),
        onSome: ({ size, type }) => putSource(layout, fs, source, Number(size), type === "File")
      })
      yield* stdio.out(Output.json({ mediaType: checkedMediaType.right, digest: added.digest, size: added.size }))
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
