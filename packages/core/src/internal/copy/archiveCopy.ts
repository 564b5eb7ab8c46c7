/**
 * The archive transports of `Copy.copy`: an archive into a layout (read in one pass), a layout into an
 * archive (written deterministically). An archive cannot be read twice or sought in, so it does not go
 * through the engine's graph walk; a registry at the other end goes through a layout first.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { Failure, Location, Options, Result } from "../../Copy.js"
import { InvalidReference, ReadError, WriteError } from "../../Errors.js"
import type { Hasher } from "../../Hasher.js"
import type { IndexLock } from "../../IndexLock.js"
import * as Layout from "../../Layout.js"
import * as Reference from "../../Reference.js"
import * as Archive from "./archive.js"
import { formatLocation } from "./location.js"

type Services = FileSystem.FileSystem | Path.Path | IndexLock | Hasher

const label = (location: Location & { readonly _tag: "Archive" }) =>
  location.file === "-" ? "standard input" : location.file

/** @internal */
export const copy = (
  source: Location,
  destination: Location,
  options: Options
): Effect.Effect<Result, Failure, Services> =>
  Effect.gen(function* () {
    if (source._tag === "Archive" && destination._tag === "Layout") {
      const fs = yield* FileSystem.FileSystem
      // A missing archive is found before the destination layout is created.
      if (source.file !== "-") yield* Effect.mapError(fs.stat(source.file), ReadError.fromPlatformError(source.file))
      const content: Stream.Stream<Uint8Array, Failure> =
        source.file === "-"
          ? (options.stdin ??
            Stream.fail(new InvalidReference({ value: "-", problem: "standard input is not available here" })))
          : // Read in 1 MiB chunks: every chunk costs Effect steps and promises on its way to the tar decoder.
            fs
              .stream(source.file, { chunkSize: FileSystem.MiB(1) })
              .pipe(Stream.mapError(ReadError.fromPlatformError(source.file)))
      const tags = destination.reference === undefined ? undefined : [yield* Reference.tag(destination.reference)]
      const layout = yield* Layout.make({ directory: destination.directory })
      if (options.dryRun === true) {
        return yield* new InvalidReference({
          value: `${source.format}-archive:${source.file}`,
          problem: "an archive is read once, as it is stored: --dry-run cannot list it"
        })
      }
      if ((options.platforms ?? []).length > 0) {
        return yield* new InvalidReference({
          value: `${source.format}-archive:${source.file}`,
          problem: "--platform does not narrow an archive: import it whole, then copy the platform out of the layout"
        })
      }
      const read = yield* Archive.read(content, label(source), layout, {
        select: source.reference,
        tags,
        onProgress: options.onProgress
      })
      const [first] = read.images
      const manifest = first?.descriptor ?? read.copied[0] ?? read.skipped[0]
      if (manifest === undefined) {
        return yield* new InvalidReference({ value: label(source), problem: "the archive holds no image" })
      }
      return { manifest, copied: read.copied, skipped: read.skipped, bytes: read.bytes }
    }
    if (source._tag === "Layout" && destination._tag === "Archive") {
      const layout = yield* Layout.make({ directory: source.directory })
      const written = yield* Archive.write(
        layout,
        `oci:${source.directory}`,
        [...(source.reference === undefined ? [] : [source.reference]), ...(destination.entries ?? [])],
        destination.format
      )
      const [manifest] = written.entries
      if (manifest === undefined) {
        return yield* new InvalidReference({ value: `oci:${source.directory}`, problem: "the layout holds no entry" })
      }
      const bytes = written.blobs.reduce((sum, blob) => sum + blob.size, 0)
      if (options.dryRun === true) return { manifest, copied: written.blobs, skipped: [], bytes }
      const report = options.onProgress
      const archive = written.archive
      if (destination.file === "-") {
        if (options.stdout === undefined) {
          return yield* new InvalidReference({ value: "-", problem: "standard output is not available here" })
        }
        yield* options.stdout(archive)
      } else {
        yield* writeFile(destination.file, archive)
      }
      if (report !== undefined) {
        for (const blob of written.blobs) yield* report({ _tag: "Finished", descriptor: blob, outcome: "copied" })
      }
      return { manifest, copied: written.blobs, skipped: [], bytes }
    }
    return yield* new InvalidReference({
      value: `${formatLocation(source)} -> ${formatLocation(destination)}`,
      problem:
        "an archive is read into, or written from, a layout: copy through oci:<dir> (import it, then push; or pull, then export)"
    })
  })

/** Writes `archive` to a temp file beside `file` and renames it into place: a failed export leaves no file. */
const writeFile = (file: string, archive: Stream.Stream<Uint8Array, Failure>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.ocidx-${Date.now().toString(36)}.tmp`)
    const written = archive.pipe(Stream.run(Sink.mapError(fs.sink(temp), WriteError.fromPlatformError(temp))))
    yield* Effect.onError(
      Effect.zipRight(written, fs.rename(temp, file).pipe(Effect.mapError(WriteError.fromPlatformError(file)))),
      () => Effect.ignore(fs.remove(temp))
    )
  })
