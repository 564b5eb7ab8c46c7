/**
 * `LayoutFiles` on `@effect/platform`'s FileSystem, and how core finds the one in use. FileSystem has no
 * O_NOFOLLOW or O_NONBLOCK open, so links and non-regular files are refused by a readLink and a stat just
 * before each open (regularFile.ts).
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Digest from "../Digest.js"
import { CurrentDurability } from "../Durability.js"
import { type DecodeError, ReadError, WriteError } from "../Errors.js"
import { Hasher, webCrypto } from "../Hasher.js"
import type {
  BlobToHash,
  FileToRead,
  HashResult,
  IngestOptions,
  Ingested,
  LayoutFiles as Service,
  ReadResult,
  RemoveOptions,
  RemoveResult,
  WriteOptions
} from "../LayoutFiles.js"
import { createTemp, removeQuietly, syncDirectory, tempPathFor } from "./atomicWrite.js"
import { readChunks } from "./blobStore.js"
import { requireDirectory } from "./directory.js"
import * as JsonReader from "./jsonReader.js"
import { isNotFound } from "./platformError.js"
import { linkTarget, statRegularFile } from "./regularFile.js"

export { isTempNameFor, tempPathFor } from "./atomicWrite.js"

/** @internal */
export const LayoutFiles = Context.GenericTag<Service>("@ocidx/core/LayoutFiles")

/** How many blobs the portable hash keeps in flight: reads wait on the disk, hashing is on this thread. */
const hashConcurrency = 8

/** How many files the portable batch read keeps in flight, as the walk read manifests before there was a batch. */
const readConcurrency = 8

/** `ingestFile` copies this much at a time, through one buffer per copy. */
const ingestChunkSize = 1024 * 1024

/**
 * While a large file is written, the written part is flushed every this many bytes, in the background: the disk
 * works while the rest is still read and hashed, and the final fsync has little left to do.
 */
const flushEvery = 64 * 1024 * 1024

/** @internal */
export interface BackgroundFlush {
  /** Counts bytes just written; once `flushEvery` more are written, flushes them in the background. */
  readonly wrote: (bytes: number) => Effect.Effect<void, WriteError>
  /** Waits for the flush in the background, then fsyncs the rest: with durability "full", the file is on disk. */
  readonly finish: Effect.Effect<void, WriteError>
}

/**
 * One effect at a time in the background, forked into the current scope: `start` waits for (and fails with)
 * the one before it, and the scope does not close while one runs. Each runs uninterruptibly: a write or a sync
 * on a closed descriptor could reach a file that reuses it. Forked into the scope, not the caller's fiber: a
 * stream may pull in fibers of its own, which interrupt their children when they end.
 * @internal
 */
export interface InFlight<E> {
  readonly start: (effect: Effect.Effect<void, E>) => Effect.Effect<void, E>
  /** Waits for the one in flight, if any, and fails with its failure. */
  readonly join: Effect.Effect<void, E>
}

/** @internal */
export const inFlight = <E>(): Effect.Effect<InFlight<E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    let running: Fiber.Fiber<void, E> | undefined
    yield* Effect.addFinalizer(() => (running ? Fiber.await(running) : Effect.void))
    const join = Effect.suspend(() => (running ? Fiber.join(running) : Effect.void))
    const start = (effect: Effect.Effect<void, E>) =>
      Effect.zipRight(
        join,
        Effect.tap(Effect.forkIn(Effect.uninterruptible(effect), scope), (fiber) => {
          running = fiber
        })
      )
    return { start, join }
  })

/**
 * Flushes `file` (named `path` in errors) as it grows, with `CurrentDurability` "full"; with "none", never. A
 * flush runs in the background (`inFlight`), awaited before the scope closes the file.
 * @internal
 */
export const backgroundFlush = (
  file: FileSystem.File,
  path: string
): Effect.Effect<BackgroundFlush, never, Scope.Scope> =>
  Effect.gen(function* () {
    const durable = (yield* CurrentDurability) === "full"
    const sync = file.sync.pipe(Effect.mapError(WriteError.fromPlatformError(path)))
    const flushing = yield* inFlight<WriteError>()
    let unflushed = 0
    const wrote = (bytes: number): Effect.Effect<void, WriteError> => {
      unflushed += bytes
      if (!durable || unflushed < flushEvery) return Effect.void
      unflushed = 0
      return flushing.start(sync)
    }
    return { wrote, finish: Effect.zipRight(flushing.join, durable ? sync : Effect.void) }
  })

/** @internal */
export const make: Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path | Hasher> = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const hasher = yield* Hasher
  const context = Context.make(FileSystem.FileSystem, fs).pipe(Context.add(Path.Path, path))

  const readRegularFile = (file: string, maxBytes: number): Effect.Effect<ReadResult, ReadError> =>
    Effect.gen(function* () {
      const size = yield* statRegularFile(fs, file)
      if (Option.isNone(size)) return { _tag: "Missing" } as const
      if (size.value > maxBytes) return { _tag: "TooLarge", size: size.value } as const
      // A file that grew after the stat is still caught: the JSON reader refuses more than its limit.
      return yield* fs.readFile(file).pipe(
        Effect.map((bytes): ReadResult => ({ _tag: "Read", bytes })),
        Effect.catchIf(isNotFound, () => Effect.succeed<ReadResult>({ _tag: "Missing" })),
        Effect.mapError(ReadError.fromPlatformError(file))
      )
    })

  const readRegularFiles = (
    files: ReadonlyArray<FileToRead>
  ): Effect.Effect<ReadonlyArray<Either.Either<ReadResult, ReadError>>> =>
    Effect.forEach(
      files,
      ({ hash: algorithm, maxBytes, path: file }) => {
        const read = readRegularFile(file, maxBytes)
        if (algorithm === undefined) return Effect.either(read)
        return Effect.either(
          Effect.flatMap(read, (result): Effect.Effect<ReadResult> => {
            if (result._tag !== "Read") return Effect.succeed(result)
            const hash = hasher.make(algorithm)
            hash.update(result.bytes)
            return Effect.map(hash.digest, (hex) => ({ _tag: "Read", bytes: result.bytes, hex }))
          })
        )
      },
      { concurrency: readConcurrency }
    )

  const writeAtomic = (target: string, content: Uint8Array, options: WriteOptions): Effect.Effect<void, WriteError> =>
    Effect.gen(function* () {
      const durable = (yield* CurrentDurability) === "full"
      // Keep the mode of the file we replace; a new file gets 0644 whatever the umask.
      const mode = yield* fs.stat(target).pipe(
        Effect.map((info) => info.mode & 0o7777),
        Effect.catchIf(isNotFound, () => Effect.succeed(options.defaultMode ?? 0o644)),
        Effect.mapError(WriteError.fromPlatformError(target))
      )
      const replaceWith = (bytes: Uint8Array) =>
        Effect.gen(function* () {
          const temp = yield* tempPathFor(target)
          yield* Effect.scoped(
            Effect.flatMap(createTemp(temp, mode), (file) =>
              Effect.zipRight(file.writeAll(bytes), durable ? file.sync : Effect.void)
            )
          )
          yield* fs.chmod(temp, mode).pipe(
            Effect.zipRight(fs.rename(temp, target)),
            Effect.onError(() => removeQuietly(temp))
          )
        }).pipe(Effect.mapError(WriteError.fromPlatformError(target)))

      yield* replaceWith(content)
      if (durable) {
        yield* syncDirectory(path.dirname(target)).pipe(
          Effect.tapError(() =>
            Option.match(options.previous, {
              onNone: () => removeQuietly(target),
              onSome: (old) => Effect.ignore(replaceWith(old))
            })
          )
        )
      }
    }).pipe(Effect.provide(context))

  /** Reads a blob to its end and hashes it, without a Stream's per-chunk cost. */
  const hashBlob = ({ digest, path: file }: BlobToHash): Effect.Effect<HashResult> =>
    Effect.gen(function* () {
      const present = yield* statRegularFile(fs, file)
      if (Option.isNone(present)) return { _tag: "Missing" } as const
      const algorithm = Digest.algorithm(digest)
      const hash = Digest.isAlgorithm(algorithm) ? hasher.make(algorithm) : undefined
      const size = yield* readChunks(fs, file, present.value, (chunk) => hash?.update(chunk))
      if (hash === undefined) return { _tag: "Ok", size } as const
      const actualDigest = `${algorithm}:${yield* hash.digest}`
      const result: HashResult =
        actualDigest === digest ? { _tag: "Ok", size } : { _tag: "Mismatch", size, actualDigest }
      return result
    }).pipe(Effect.catchAll((error) => Effect.succeed<HashResult>({ _tag: "Failed", error })))

  const hashBlobs = (blobs: ReadonlyArray<BlobToHash>): Effect.Effect<ReadonlyArray<HashResult>> =>
    Effect.forEach(blobs, hashBlob, { concurrency: hashConcurrency })

  const ingestFile = (
    source: string,
    temp: string,
    options: IngestOptions
  ): Effect.Effect<Ingested, ReadError | WriteError> =>
    Effect.gen(function* () {
      // Refused before anything is opened or created; a file that vanishes after the check fails the open.
      yield* statRegularFile(fs, source)
      const hash = hasher.make(options.algorithm)
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const input = yield* fs.open(source, { flag: "r" }).pipe(Effect.mapError(ReadError.fromPlatformError(source)))
          const output = yield* createTemp(temp, 0o644).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
          const flush = yield* backgroundFlush(output, temp)
          // One buffer, reused: the hash takes each chunk in at once, and the write completes before the next read.
          const buffer = new Uint8Array(ingestChunkSize)
          let written = 0
          while (true) {
            const read = Number(yield* input.read(buffer).pipe(Effect.mapError(ReadError.fromPlatformError(source))))
            if (read === 0) break
            const chunk = buffer.subarray(0, read)
            hash.update(chunk)
            yield* output.writeAll(chunk).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
            written += read
            yield* flush.wrote(read)
            options.onProgress?.(written)
          }
          yield* flush.finish
          return { size: written, hex: yield* hash.digest }
        })
      ).pipe(Effect.provide(context))
    })

  const statOf = (file: string) =>
    fs.stat(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError(ReadError.fromPlatformError(file))
    )

  const removeFile = (file: string, options: RemoveOptions): Effect.Effect<RemoveResult, ReadError | WriteError> =>
    Effect.gen(function* () {
      // unlink would remove a link, not follow it; refusing it still leaves anything a link names untouched.
      if (Option.isSome(yield* linkTarget(fs, file))) return { _tag: "Refused", reason: "symlink" } as const
      const info = yield* statOf(file)
      if (Option.isNone(info)) return { _tag: "Missing" } as const
      if (info.value.type !== "File") return { _tag: "Refused", reason: "not-a-file" } as const
      // No mtime known: as young as can be, so kept.
      const mtime = Option.match(info.value.mtime, { onNone: () => Number.POSITIVE_INFINITY, onSome: Number })
      if (mtime > options.olderThan) return { _tag: "Young" } as const
      const size = Number(info.value.size)
      if (options.dryRun) return { _tag: "Removed", size } as const
      // Gone already (another gc, or a writer's rename): nothing to do.
      const removed = yield* fs.remove(file).pipe(
        Effect.as(true),
        Effect.catchIf(isNotFound, () => Effect.succeed(false)),
        Effect.mapError(WriteError.fromPlatformError(file))
      )
      return removed ? ({ _tag: "Removed", size } as const) : ({ _tag: "Missing" } as const)
    })

  const removeFiles = (files: ReadonlyArray<string>, options: RemoveOptions) =>
    Effect.forEach(files, (file) => removeFile(file, options))

  return LayoutFiles.of({
    readRegularFile,
    readRegularFiles,
    requireDirectory: (directory) => Effect.provide(requireDirectory(directory), context),
    writeAtomic,
    ingestFile,
    hashBlobs,
    removeFiles
  })
})

/** @internal */
export const layer: Layer.Layer<Service, never, FileSystem.FileSystem | Path.Path | Hasher> = Layer.effect(
  LayoutFiles,
  make
)

/**
 * The `LayoutFiles` provided, or else the portable one on the FileSystem at hand: providing the service is an
 * optimisation, so every layer that provided FileSystem before still works. Only verify hashes, and it
 * provides the Hasher; elsewhere WebCrypto stands in, unused.
 * @internal
 */
export const current: Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path> = Effect.flatMap(
  Effect.serviceOption(LayoutFiles),
  Option.match({
    onSome: Effect.succeed,
    onNone: () =>
      Effect.flatMap(Effect.serviceOption(Hasher), (hasher) =>
        Effect.provideService(
          make,
          Hasher,
          Option.getOrElse(hasher, () => webCrypto)
        )
      )
  })
)

/**
 * A regular file's bytes, or None when it does not exist; one larger than `maxBytes` is refused unread (a
 * `DecodeError` "too-large", naming the file as `what`). A link or a non-regular file is a `ReadError`.
 * @internal
 */
export const readIfExists = (
  files: Service,
  file: string,
  maxBytes: number,
  what?: string
): Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> =>
  Effect.flatMap(files.readRegularFile(file, maxBytes), (result) => {
    switch (result._tag) {
      case "Missing":
        return Effect.succeedNone
      case "TooLarge":
        return Effect.fail(JsonReader.tooLarge(file, result.size, maxBytes, what))
      case "Read":
        return Effect.succeed(Option.some(result.bytes))
    }
  })
