/**
 * What `ocidx blob put` does once its arguments are parsed, shared by its @effect/cli command
 * (commands/Blob.ts) and the fast path (`FastPath.ts`): adds a file (or stdin, for `-`) to `blobs/`, hashed as
 * it is written, atomically, and prints its descriptor.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
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
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

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
const putSource = (
  stdio: Stdio,
  layout: Layout.Layout,
  fs: FileSystem.FileSystem,
  source: string,
  total: number,
  regular: boolean
) =>
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
      const content = stdio.readInOrder(source)
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
 * @category model
 */
export interface BlobPutConfig {
  readonly directory: string
  /** A file, or `-` for standard input. */
  readonly source: string
  readonly mediaType: string
}

/**
 * `ocidx blob put`.
 *
 * @since 0.1.0
 * @category actions
 */
export const blobPut = ({ directory, mediaType, source }: BlobPutConfig) =>
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
      onSome: ({ size, type }) => putSource(stdio, layout, fs, source, Number(size), type === "File")
    })
    yield* stdio.out(Output.json({ mediaType: checkedMediaType.right, digest: added.digest, size: added.size }))
  })
