/**
 * The archive transports of `Copy.copy`: an archive into a layout (read in one pass), a layout into an
 * archive (written deterministically). An archive cannot be read twice or sought in, so it does not go
 * through the engine's graph walk; a registry at the other end goes through a layout first.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Failure, Location, Options, Result } from "../../Copy.js"
import * as Digest from "../../Digest.js"
import { CurrentDurability } from "../../Durability.js"
import { BlobNotFound, DigestMismatch, InvalidReference, ReadError, WriteError } from "../../Errors.js"
import { Hasher } from "../../Hasher.js"
import type { IndexLock } from "../../IndexLock.js"
import * as Layout from "../../Layout.js"
import * as Reference from "../../Reference.js"
import * as Archive from "./archive.js"
import { formatLocation } from "./location.js"
import * as Tar from "./tar.js"
import { createTemp, syncDirectory, tempPathFor } from "../atomicWrite.js"
import * as LayoutFiles from "../layoutFiles.js"

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
      const ring = source.file === "-" ? undefined : readRing(fs, source.file)
      const content: Stream.Stream<Uint8Array, Failure> =
        ring === undefined
          ? (options.stdin ??
            Stream.fail(new InvalidReference({ value: "-", problem: "standard input is not available here" })))
          : ring.stream
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
      const read = yield* Archive.read(
        content,
        label(source),
        layout,
        { select: source.reference, tags, onProgress: options.onProgress },
        ring?.consumed
      )
      const [first] = read.images
      const manifest = first?.descriptor ?? read.copied[0] ?? read.skipped[0]
      if (manifest === undefined) {
        return yield* new InvalidReference({ value: label(source), problem: "the archive holds no image" })
      }
      return { manifest, copied: read.copied, skipped: read.skipped, bytes: read.bytes }
    }
    if (source._tag === "Layout" && destination._tag === "Archive") {
      const layout = yield* Layout.make({ directory: source.directory })
      const references = [...(source.reference === undefined ? [] : [source.reference]), ...(destination.entries ?? [])]
      const planned = yield* Archive.plan(layout, `oci:${source.directory}`, references, destination.format)
      const [manifest] = planned.entries
      if (manifest === undefined) {
        return yield* new InvalidReference({ value: `oci:${source.directory}`, problem: "the layout holds no entry" })
      }
      const bytes = planned.blobs.reduce((sum, blob) => sum + blob.size, 0)
      if (options.dryRun === true) return { manifest, copied: planned.blobs, skipped: [], bytes }
      const report = options.onProgress
      if (destination.file === "-") {
        if (options.stdout === undefined) {
          return yield* new InvalidReference({ value: "-", problem: "standard output is not available here" })
        }
        yield* options.stdout(Archive.pack(layout, planned))
      } else {
        yield* writeFile(destination.file, layout, planned.parts)
      }
      if (report !== undefined) {
        for (const blob of planned.blobs) yield* report({ _tag: "Finished", descriptor: blob, outcome: "copied" })
      }
      return { manifest, copied: planned.blobs, skipped: [], bytes }
    }
    return yield* new InvalidReference({
      value: `${formatLocation(source)} -> ${formatLocation(destination)}`,
      problem:
        "an archive is read into, or written from, a layout: copy through oci:<dir> (import it, then push; or pull, then export)"
    })
  })

/** How many buffers an archive file is read into, and their size: 16 MiB in all. */
const ringSlots = 16
const slotBytes = 1024 * 1024

/**
 * An archive file read into a ring of buffers, reused: a fresh buffer per chunk costs page faults, and its
 * unmapping stalls every thread, more than the bytes it carries. A buffer is reused only once `consumed` has
 * heard of a buffer read after it (see `Archive.read`); while none is free, a read takes a fresh one.
 */
const readRing = (fs: FileSystem.FileSystem, file: string) => {
  const slots = Array.from({ length: ringSlots }, () => new Uint8Array(slotBytes))
  const slotOf = new Map<ArrayBufferLike, number>(slots.map((slot, i) => [slot.buffer, i]))
  const free = slots.map((_, i) => i)
  /** The ring's buffers being read or held downstream, in the order they were read. */
  const held: Array<{ readonly slot: number; readonly read: number }> = []
  const readOf = slots.map(() => 0)
  let reads = 0
  const consumed = (buffer: Uint8Array) => {
    const slot = slotOf.get(buffer.buffer)
    if (slot === undefined) return
    const upTo = readOf[slot] ?? 0
    for (let first = held[0]; first !== undefined && first.read < upTo; first = held[0]) {
      held.shift()
      free.push(first.slot)
    }
  }
  const next = (handle: FileSystem.File) =>
    Effect.suspend(() => {
      const slot = free.pop()
      const into = (slot === undefined ? undefined : slots[slot]) ?? new Uint8Array(slotBytes)
      return Effect.map(handle.read(into), (size): Option.Option<Uint8Array> => {
        if (Number(size) === 0) {
          if (slot !== undefined) free.push(slot)
          return Option.none()
        }
        if (slot !== undefined) {
          readOf[slot] = reads
          held.push({ slot, read: reads })
        }
        reads++
        return Option.some(Number(size) === into.length ? into : into.subarray(0, Number(size)))
      })
    })
  const stream: Stream.Stream<Uint8Array, ReadError> = Stream.unwrapScoped(
    Effect.map(fs.open(file, { flag: "r" }), (handle) =>
      Stream.repeatEffectOption(
        Effect.flatMap(Effect.mapError(next(handle), Option.some), (read) =>
          Option.isSome(read) ? Effect.succeed(read.value) : Effect.fail(Option.none())
        )
      )
    )
  ).pipe(Stream.mapError(ReadError.fromPlatformError(file)))
  return { stream, consumed }
}

/**
 * Bytes gathered before each write to an archive file. Headers, padding and blob bytes share two buffers,
 * reused in turn: one is written while the next is read and hashed, and a fresh buffer per chunk costs page
 * faults (more than the bytes it moves). Each read and write is a round trip through the thread pool, whose
 * hand-offs cost the main thread more than the copies: 4 MiB buffers took 0.3 s less user CPU than 1 MiB ones
 * on an export of 1 GiB.
 */
const fileBufferBytes = 4 * 1024 * 1024

/**
 * Writes the archive of `parts` to a temp file beside `file`, fsyncs it (with `CurrentDurability` "full") and
 * renames it into place: a failed export leaves no file, and a crash no short one. Blobs are read straight into
 * the write buffer and verified as they are (size and digest), as `BlobStore.stream` would: the bytes are the
 * same as `Archive.pack`'s, without a stream step per chunk. Each write runs while the next buffer is filled,
 * and the written part is flushed in the background as it grows (`LayoutFiles.backgroundFlush`): the disk
 * works while the rest is read and hashed, so the final fsync has little left to do.
 */
const writeFile = (file: string, layout: Layout.Layout, parts: ReadonlyArray<Archive.Part>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hasher = yield* Hasher
    const durable = (yield* CurrentDurability) === "full"
    // A name of its own, created exclusively: two exports to one file at once never write into one temp file.
    const temp = yield* tempPathFor(file)
    const written = Effect.scoped(
      Effect.gen(function* () {
        const out = yield* createTemp(temp, 0o666).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
        const background = yield* LayoutFiles.backgroundFlush(out, temp)
        // The write of the buffer not being filled; the scope does not close the file under it.
        const writing = yield* LayoutFiles.inFlight<WriteError>()
        let buffer = new Uint8Array(fileBufferBytes)
        let spare = new Uint8Array(fileBufferBytes)
        let fill = 0
        const flush = Effect.suspend(() => {
          if (fill === 0) return Effect.void
          const bytes = buffer.subarray(0, fill)
          ;[buffer, spare] = [spare, buffer]
          fill = 0
          // The spare is refilled only once its write is done: `start` waits for the write before.
          return writing.start(
            Effect.zipRight(
              out.writeAll(bytes).pipe(Effect.mapError(WriteError.fromPlatformError(temp))),
              background.wrote(bytes.length)
            )
          )
        })
        const put = (bytes: Uint8Array) =>
          Effect.gen(function* () {
            for (let at = 0; at < bytes.length; ) {
              if (fill === buffer.length) yield* flush
              const n = Math.min(bytes.length - at, buffer.length - fill)
              buffer.set(bytes.subarray(at, at + n), fill)
              fill += n
              at += n
            }
          })
        const putBlob = (digest: Digest.Digest, size: number) =>
          Effect.scoped(
            Effect.gen(function* () {
              const blob = layout.blobs.pathOf(digest)
              // Checked again just before the open, as BlobStore.stream does: a blob swapped since the plan for a
              // link or anything but a regular file is refused unopened (a FIFO would block the open).
              if (Option.isNone(yield* layout.blobs.stat(digest)))
                return yield* new BlobNotFound({ path: blob, digest })
              const input = yield* fs
                .open(blob, { flag: "r" })
                .pipe(
                  Effect.mapError((error) =>
                    error._tag === "SystemError" && error.reason === "NotFound"
                      ? new BlobNotFound({ path: blob, digest })
                      : ReadError.fromPlatformError(blob)(error)
                  )
                )
              const algorithm = Digest.algorithm(digest)
              // An algorithm ocidx cannot compute leaves only the size to check, as BlobStore.stream does.
              const hash = Digest.isAlgorithm(algorithm) ? hasher.make(algorithm) : undefined
              let total = 0
              const mismatch = (actualDigest: string | undefined) =>
                new DigestMismatch({
                  path: blob,
                  expectedDigest: digest,
                  actualDigest,
                  expectedSize: size,
                  actualSize: total
                })
              while (true) {
                if (fill === buffer.length) yield* flush
                const read = Number(
                  yield* input.read(buffer.subarray(fill)).pipe(Effect.mapError(ReadError.fromPlatformError(blob)))
                )
                if (read === 0) break
                hash?.update(buffer.subarray(fill, fill + read))
                fill += read
                total += read
                if (total > size) return yield* mismatch(undefined)
              }
              const actual = hash === undefined ? undefined : `${algorithm}:${yield* hash.digest}`
              if (total !== size || (actual !== undefined && actual !== digest)) return yield* mismatch(actual)
            })
          )
        for (const part of parts) {
          for (const block of Tar.headerBlocks(part.name, part.size)) yield* put(block)
          if (part.content._tag === "Bytes") yield* put(part.content.bytes)
          else yield* putBlob(part.content.digest, part.size)
          yield* put(new Uint8Array(Tar.padding(part.size)))
        }
        yield* put(Tar.endBlocks())
        yield* flush
        yield* writing.join
        // On disk before it takes the name: a crash after the rename must not leave a short archive there.
        yield* background.finish
      })
    )
    yield* Effect.onError(
      Effect.zipRight(written, fs.rename(temp, file).pipe(Effect.mapError(WriteError.fromPlatformError(file)))),
      () => Effect.ignore(fs.remove(temp))
    )
    if (durable) yield* syncDirectory(path.dirname(file))
  })
