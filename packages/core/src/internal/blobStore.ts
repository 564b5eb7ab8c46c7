/** @internal */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { BlobInfo, BlobStore, PutFileOptions, PutOptions } from "../BlobStore.js"
import * as Digest from "../Digest.js"
import { CurrentDurability, type Durability } from "../Durability.js"
import { BlobNotFound, DecodeError, DecodeIssue, DigestMismatch, ReadError, WriteError } from "../Errors.js"
import { Hasher } from "../Hasher.js"
import type { Ingested, ReadResult } from "../LayoutFiles.js"
import { createTemp, removeQuietly, syncDirectory, tempPathFor, tempSuffix } from "./atomicWrite.js"
import * as LayoutFiles from "./layoutFiles.js"
import { refuseLinkedDirectory, statRegularFile } from "./regularFile.js"

/** @internal */
export const isTempFile = (name: string): boolean => name.endsWith(tempSuffix)

/** Blobs up to this size are read with one `readFile`; larger ones in chunks of this size. */
const readChunkSize = 1024 * 1024

/**
 * Reads a file to its end, handing each chunk to `onChunk`, and returns the number of bytes read. A small file
 * (by `sizeHint`, from a stat) is one `readFile`; a large one is read in 1 MiB chunks into one buffer, reused:
 * a chunk is valid only during the call (a hash takes it in at once), and constant memory costs no page
 * faults for fresh buffers, which cost more than the hashing.
 * @internal
 */
export const readChunks = (
  fs: FileSystem.FileSystem,
  file: string,
  sizeHint: number,
  onChunk: (chunk: Uint8Array) => void
): Effect.Effect<number, ReadError> => {
  if (sizeHint < readChunkSize) {
    return fs.readFile(file).pipe(
      Effect.map((bytes) => {
        onChunk(bytes)
        return bytes.length
      }),
      Effect.mapError(ReadError.fromPlatformError(file))
    )
  }
  return Effect.scoped(
    Effect.gen(function* () {
      const handle = yield* fs.open(file, { flag: "r" })
      const buffer = new Uint8Array(readChunkSize)
      let total = 0
      while (true) {
        const read = Number(yield* handle.read(buffer))
        if (read === 0) return total
        onChunk(read === buffer.length ? buffer : buffer.subarray(0, read))
        total += read
      }
    })
  ).pipe(Effect.mapError(ReadError.fromPlatformError(file)))
}

/**
 * A stream's buffers are written in batches of this size: a socket delivers 16–64 KiB at a time, and a write
 * per buffer (each an fs request and a few Effect steps) cost more CPU than the copy that gathers them.
 */
const writeBatch = 256 * 1024

/** Hashes content as it comes (`update`), then checks it against `digest` and `expectedSize` (`check`). */
const verifier = (hasher: Hasher, file: string, digest: Digest.Digest, expectedSize: number | undefined) => {
  const algorithm = Digest.algorithm(digest)
  const hash = Digest.isAlgorithm(algorithm) ? Option.some(hasher.make(algorithm)) : Option.none()
  let size = 0
  const update = (chunk: Uint8Array) => {
    size += chunk.length
    if (Option.isSome(hash)) hash.value.update(chunk)
  }
  const check = Effect.gen(function* () {
    // An algorithm ocidx cannot compute leaves only the size to check.
    const actualDigest = Option.isSome(hash) ? `${algorithm}:${yield* hash.value.digest}` : undefined
    const sizeWrong = expectedSize !== undefined && size !== expectedSize
    if (sizeWrong || (actualDigest !== undefined && actualDigest !== digest)) {
      return yield* new DigestMismatch({
        path: file,
        expectedDigest: digest,
        actualDigest,
        expectedSize,
        actualSize: size
      })
    }
  })
  return { update, check }
}

/**
 * What `BlobStore.get` makes of its read of `file`, which was limited to `expected` bytes (or none): the bytes,
 * once they hash to `digest` and have the expected size. The walk's batch reads of manifests check theirs so too.
 * @internal
 */
export const checkedBytes = (
  hasher: Hasher,
  file: string,
  digest: Digest.Digest,
  expected: number | undefined,
  read: ReadResult
): Effect.Effect<Uint8Array, BlobNotFound | DigestMismatch> => {
  if (read._tag === "Missing") return Effect.fail(new BlobNotFound({ path: file, digest }))
  const limit = expected ?? Number.MAX_SAFE_INTEGER
  const actualSize = read._tag === "TooLarge" ? read.size : read.bytes.length
  if (read._tag === "TooLarge" || actualSize > limit) {
    return Effect.fail(new DigestMismatch({ path: file, expectedDigest: digest, expectedSize: limit, actualSize }))
  }
  const { check, update } = verifier(hasher, file, digest, expected)
  update(read.bytes)
  return Effect.as(check, read.bytes)
}

/** @internal */
export const make = (options: { readonly directory: string }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hasher = yield* Hasher
    const files = yield* LayoutFiles.current
    const context = Context.make(FileSystem.FileSystem, fs).pipe(Context.add(Path.Path, path))
    const blobsDir = path.join(options.directory, "blobs")
    // Joined by hand, not by path.join: the parts of a valid digest hold no separator and no dot segment, so
    // there is nothing to normalise, and verify asks this of every blob, several times.
    const pathOf = (digest: Digest.Digest) =>
      `${blobsDir}${path.sep}${Digest.algorithm(digest)}${path.sep}${Digest.encoded(digest)}`

    const statFile = (file: string) => statRegularFile(fs, file)

    const stat = (digest: Digest.Digest) =>
      statFile(pathOf(digest)).pipe(Effect.map(Option.map((size): BlobInfo => ({ digest, size }))))

    const has = (digest: Digest.Digest) => Effect.map(statFile(pathOf(digest)), Option.isSome)

    const unsupported = (digest: Digest.Digest) => {
      const message = `ocidx cannot compute ${Digest.algorithm(digest)} digests; use sha256 or sha512`
      return new DecodeError({
        path: "the expected digest",
        reason: "schema",
        detail: message,
        issues: [new DecodeIssue({ path: [], message })]
      })
    }

    const algorithmOf = (digest: Digest.Digest): Option.Option<Digest.Algorithm> =>
      Option.liftPredicate(Digest.algorithm(digest), Digest.isAlgorithm)

    /**
     * Every put: the blob when it is already there with the expected digest (and size); else the checks and the
     * directory for a new one, `write` of its content to a temp file, and `finish`. `write` removes the temp
     * file when it fails; from its success on, the temp file is the put's.
     */
    const putWith = <E, R>(
      putOptions: PutOptions | undefined,
      write: (temp: string, algorithm: Digest.Algorithm) => Effect.Effect<Ingested, E, R>
    ): Effect.Effect<BlobInfo, E | DigestMismatch | DecodeError | WriteError, R> =>
      Effect.gen(function* () {
        const expected = putOptions?.expected
        let algorithm: Digest.Algorithm = putOptions?.algorithm ?? "sha256"
        if (expected) {
          const alg = algorithmOf(expected.digest)
          if (Option.isNone(alg)) return yield* unsupported(expected.digest)
          algorithm = alg.value
          const present = yield* statFile(pathOf(expected.digest)).pipe(Effect.orElseSucceed(() => Option.none()))
          if (Option.isSome(present) && (expected.size === undefined || present.value === expected.size)) {
            return { digest: expected.digest, size: present.value }
          }
        }
        const algDir = path.join(blobsDir, algorithm)
        // Through a linked blobs/ or blobs/<alg>, the blob would be written wherever the link points.
        yield* refuseLinkedDirectory(fs, blobsDir)
        yield* refuseLinkedDirectory(fs, algDir)
        yield* fs.makeDirectory(algDir, { recursive: true }).pipe(Effect.mapError(WriteError.fromPlatformError(algDir)))
        const temp = yield* tempPathFor(path.join(blobsDir, "blob"))
        const durability = yield* CurrentDurability
        return yield* Effect.uninterruptibleMask((restore) =>
          restore(write(temp, algorithm)).pipe(
            // An interruption can also fall just after the write made the temp file, before it handed it over.
            Effect.onInterrupt(() => removeQuietly(temp)),
            // The finish stays interruptible (a rename on a hung file system must not hold the fiber forever);
            // interrupted or failed, it leaves no temp file.
            Effect.flatMap((written) =>
              restore(finish(temp, algorithm, written, expected, durability)).pipe(
                Effect.onError(() => removeQuietly(temp))
              )
            )
          )
        )
      }).pipe(Effect.provide(context))

    /** Checks the written temp file against what was expected, renames it into place and fsyncs the directory. */
    const finish = (
      temp: string,
      algorithm: Digest.Algorithm,
      written: Ingested,
      expected: PutOptions["expected"],
      durability: Durability
    ) =>
      Effect.gen(function* () {
        const { hex, size } = written
        const digest = yield* Option.match(Digest.fromHex(algorithm, hex), {
          onNone: () => Effect.die(`hasher returned an invalid ${algorithm} digest: ${hex}`),
          onSome: Effect.succeed
        })
        if (expected && (digest !== expected.digest || (expected.size !== undefined && size !== expected.size))) {
          return yield* new DigestMismatch({
            path: pathOf(expected.digest),
            expectedDigest: expected.digest,
            actualDigest: digest,
            expectedSize: expected.size,
            actualSize: size
          })
        }
        const target = pathOf(digest)
        yield* fs.rename(temp, target).pipe(Effect.mapError(WriteError.fromPlatformError(target)))
        if (durability === "full") yield* syncDirectory(path.dirname(target))
        return { digest, size }
      })

    /** Writes bytes or a stream to the new file `temp`, hashing them; on failure the file is removed. */
    const writeContent = <E, R>(
      content: Uint8Array | Stream.Stream<Uint8Array, E, R>,
      temp: string,
      algorithm: Digest.Algorithm
    ) =>
      Effect.scoped(
        Effect.gen(function* () {
          const file = yield* createTemp(temp, 0o644).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
          const flush = yield* LayoutFiles.backgroundFlush(file, temp)
          const hash = hasher.make(algorithm)
          let size = 0
          const write = (chunk: Uint8Array) =>
            file.writeAll(chunk).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
          if (content instanceof Uint8Array) {
            hash.update(content)
            size = content.length
            yield* write(content)
          } else {
            // Each buffer is hashed and copied into the batch (or, when it is a batch by itself and none is
            // being gathered, written as it is) before the step that delivered it ends: no buffer is kept past
            // it, so a source may reuse a buffer once the next one is pulled. The batch is one buffer, reused:
            // each write completes before it is filled again, and fresh buffers cost page faults (more than the
            // copy).
            const batch = new Uint8Array(writeBatch)
            let fill = 0
            const writeOut = (bytes: Uint8Array) => Effect.zipRight(write(bytes), flush.wrote(bytes.length))
            const writeBatchOut = Effect.suspend(() => {
              const bytes = batch.subarray(0, fill)
              fill = 0
              return writeOut(bytes)
            })
            /** The bytes placed: nothing to wait for (undefined), or the writes that must finish first. */
            const place = (bytes: Uint8Array): Effect.Effect<void, WriteError> | undefined => {
              if (fill === 0 && bytes.length >= batch.length) return writeOut(bytes)
              const n = Math.min(bytes.length, batch.length - fill)
              batch.set(n === bytes.length ? bytes : bytes.subarray(0, n), fill)
              fill += n
              if (fill < batch.length) return undefined
              const rest = bytes.subarray(n)
              return rest.length === 0
                ? writeBatchOut
                : Effect.zipRight(
                    writeBatchOut,
                    Effect.suspend(() => place(rest) ?? Effect.void)
                  )
            }
            const take = (buffers: Chunk.Chunk<Uint8Array>, from: number): Effect.Effect<void, WriteError> => {
              for (let i = from; i < buffers.length; i++) {
                const buffer = Chunk.unsafeGet(buffers, i)
                hash.update(buffer)
                size += buffer.length
                const writes = place(buffer)
                if (writes !== undefined)
                  return Effect.zipRight(
                    writes,
                    Effect.suspend(() => take(buffers, i + 1))
                  )
              }
              return Effect.void
            }
            yield* Stream.runForEachChunk(content, (buffers) => take(buffers, 0))
            if (fill > 0) yield* writeBatchOut
          }
          yield* flush.finish
          return { size, hex: yield* hash.digest }
        })
      ).pipe(Effect.provide(context))

    const put = <E, R>(content: Uint8Array | Stream.Stream<Uint8Array, E, R>, putOptions?: PutOptions) =>
      putWith(putOptions, (temp, algorithm) => writeContent(content, temp, algorithm)).pipe(
        Effect.withSpan("BlobStore.put")
      )

    const putFile = (file: string, putOptions?: PutFileOptions) =>
      putWith(putOptions, (temp, algorithm) =>
        files.ingestFile(file, temp, { algorithm, onProgress: putOptions?.onProgress })
      ).pipe(Effect.withSpan("BlobStore.putFile"))

    const requirePresent = (digest: Digest.Digest) =>
      Effect.flatMap(statFile(pathOf(digest)), (size) =>
        Option.isSome(size) ? Effect.void : Effect.fail(new BlobNotFound({ path: pathOf(digest), digest }))
      )

    const get = (digest: Digest.Digest, getOptions?: { readonly size?: number | undefined }) => {
      const file = pathOf(digest)
      const expected = getOptions?.size
      // One platform step. Never more than the blob should hold is read (a 1 GiB file named as a small manifest
      // costs nothing), and one byte more, to see a file that grew after its size was taken.
      return Effect.flatMap(files.readRegularFile(file, expected ?? Number.MAX_SAFE_INTEGER), (read) =>
        checkedBytes(hasher, file, digest, expected, read)
      ).pipe(Effect.withSpan("BlobStore.get"))
    }

    /** The file in chunks read on each pull into one buffer, which each read refills. */
    const refilled = (file: string): Stream.Stream<Uint8Array, PlatformError> =>
      Stream.unwrapScoped(
        Effect.map(fs.open(file, { flag: "r" }), (handle) => {
          const buffer = new Uint8Array(readChunkSize)
          return Stream.repeatEffectOption(
            Effect.flatMap(Effect.mapError(handle.read(buffer), Option.some), (read) =>
              Number(read) === 0 ? Effect.fail(Option.none()) : Effect.succeed(buffer.subarray(0, Number(read)))
            )
          )
        })
      )

    const stream = (
      digest: Digest.Digest,
      streamOptions?: { readonly size?: number | undefined; readonly reuseBuffers?: boolean | undefined }
    ) => {
      const file = pathOf(digest)
      return Stream.unwrap(
        Effect.map(requirePresent(digest), () => {
          const { check, update } = verifier(hasher, file, digest, streamOptions?.size)
          // Fresh buffers unless the consumer is done with each before the next: 1 GiB of them cost a push
          // ~50 full garbage collections (V8 collects for the memory outside its heap) and half its CPU time.
          const chunks =
            streamOptions?.reuseBuffers === true ? refilled(file) : fs.stream(file, { chunkSize: FileSystem.KiB(256) })
          return chunks.pipe(
            Stream.mapError(ReadError.fromPlatformError(file)),
            // Hashed synchronously per chunk of buffers: an Effect per buffer costs more than the hashing.
            Stream.mapChunks((chunk) => {
              for (const buffer of chunk) update(buffer)
              return chunk
            }),
            Stream.concat(Stream.fromEffect(check).pipe(Stream.drain))
          )
        })
      )
    }

    const store: BlobStore = { directory: options.directory, pathOf, put, putFile, get, stream, has, stat }
    return store
  })
