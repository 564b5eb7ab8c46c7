/** @internal */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { BlobInfo, BlobStore, PutOptions } from "../BlobStore.js"
import * as Digest from "../Digest.js"
import { CurrentDurability } from "../Durability.js"
import { BlobNotFound, DecodeError, DecodeIssue, DigestMismatch, ReadError, WriteError } from "../Errors.js"
import { Hasher } from "../Hasher.js"
import { createTemp, removeQuietly, syncDirectory, tempPathFor, tempSuffix } from "./atomicWrite.js"
import * as LayoutFiles from "./layoutFiles.js"
import { refuseLinkedDirectory, statRegularFile } from "./regularFile.js"

/** @internal */
export const isTempFile = (name: string): boolean => name.endsWith(tempSuffix)

/** Blobs up to this size are read with one `readFile`; larger ones in chunks of this size. */
const readChunkSize = 1024 * 1024

/**
 * While a stream is written, the written part is flushed every this many bytes, in the background: the disk
 * works while the rest is still read and hashed, and the final fsync has little left to do.
 */
const flushEvery = 64 * 1024 * 1024

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
 * A stream's buffers are written in batches of about this size: a socket delivers 16–64 KiB at a time, and a
 * write per buffer (each an fs request and a few Effect steps) cost more CPU than the copy that joins them.
 */
const writeBatch = 256 * 1024

/** @internal */
export const make = (options: { readonly directory: string }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hasher = yield* Hasher
    const files = yield* LayoutFiles.current
    const context = Context.make(FileSystem.FileSystem, fs).pipe(Context.add(Path.Path, path))
    const blobsDir = path.join(options.directory, "blobs")
    const pathOf = (digest: Digest.Digest) => path.join(blobsDir, Digest.algorithm(digest), Digest.encoded(digest))

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

    const put = <E, R>(content: Uint8Array | Stream.Stream<Uint8Array, E, R>, putOptions?: PutOptions) =>
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
        const hash = hasher.make(algorithm)
        let size = 0
        const written = Effect.scoped(
          Effect.gen(function* () {
            const file = yield* createTemp(temp, 0o644).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
            const durability = yield* CurrentDurability
            const write = (chunk: Uint8Array) =>
              file.writeAll(chunk).pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
            const flush = file.sync.pipe(Effect.mapError(WriteError.fromPlatformError(temp)))
            if (content instanceof Uint8Array) {
              hash.update(content)
              size = content.length
              yield* write(content)
            } else {
              // The written part is flushed in the background as it grows, so the disk works while the rest is
              // read and hashed, and the last fsync has little left to do. The flush runs uninterruptibly and
              // is awaited before the file is closed: on a closed descriptor it could reach a file that reuses
              // it. It is forked into the put's scope: a stream may pull in fibers of its own, which interrupt
              // their children when they end.
              const scope = yield* Effect.scope
              let flushing: Fiber.Fiber<void, WriteError> | undefined
              let unflushed = 0
              const writeBatched = (chunk: Uint8Array) => {
                size += chunk.length
                unflushed += chunk.length
                if (durability !== "full" || unflushed < flushEvery) return write(chunk)
                unflushed = 0
                return Effect.gen(function* () {
                  yield* write(chunk)
                  if (flushing) yield* Fiber.join(flushing)
                  flushing = yield* Effect.forkIn(Effect.uninterruptible(flush), scope)
                })
              }
              // Per chunk of buffers, one step that hashes them and writes once a batch is full.
              let pending: Array<Uint8Array> = []
              let pendingBytes = 0
              // Batches are joined into one buffer, reused: each write completes before more is pulled, and
              // fresh buffers cost page faults (more than the copy).
              let batchBuffer = new Uint8Array(0)
              const join = (): Uint8Array => {
                if (pending.length === 1 && pending[0] !== undefined) return pending[0]
                if (batchBuffer.length < pendingBytes)
                  batchBuffer = new Uint8Array(Math.max(pendingBytes, writeBatch * 2))
                let offset = 0
                for (const buffer of pending) {
                  batchBuffer.set(buffer, offset)
                  offset += buffer.length
                }
                return batchBuffer.subarray(0, pendingBytes)
              }
              const writePending = Effect.suspend(() => {
                if (pendingBytes === 0) return Effect.void
                const batch = join()
                pending = []
                pendingBytes = 0
                return writeBatched(batch)
              })
              yield* Stream.runForEachChunk(content, (buffers) => {
                for (const buffer of buffers) {
                  hash.update(buffer)
                  pending.push(buffer)
                  pendingBytes += buffer.length
                }
                return pendingBytes >= writeBatch ? writePending : Effect.void
              }).pipe(
                Effect.zipRight(writePending),
                Effect.onExit(() => (flushing ? Fiber.await(flushing) : Effect.void))
              )
              if (flushing) yield* Fiber.join(flushing)
            }
            if (durability === "full") yield* flush
            return durability
          })
        )
        const durability = yield* written
        const digest = yield* Effect.flatMap(hash.digest, (hex) =>
          Option.match(Digest.fromHex(algorithm, hex), {
            onNone: () => Effect.die(`hasher returned an invalid ${algorithm} digest: ${hex}`),
            onSome: Effect.succeed
          })
        )
        if (expected && (digest !== expected.digest || (expected.size !== undefined && size !== expected.size))) {
          yield* removeQuietly(temp)
          return yield* new DigestMismatch({
            path: pathOf(expected.digest),
            expectedDigest: expected.digest,
            actualDigest: digest,
            expectedSize: expected.size,
            actualSize: size
          })
        }
        const target = pathOf(digest)
        yield* fs.rename(temp, target).pipe(
          Effect.mapError(WriteError.fromPlatformError(target)),
          Effect.onError(() => removeQuietly(temp))
        )
        if (durability === "full") yield* syncDirectory(algDir)
        return { digest, size }
      }).pipe(Effect.provide(context), Effect.withSpan("BlobStore.put"))

    const verify = (file: string, digest: Digest.Digest, expectedSize: number | undefined) => {
      const alg = algorithmOf(digest)
      const hash = Option.map(alg, (a) => hasher.make(a))
      let size = 0
      const update = (chunk: Uint8Array) => {
        size += chunk.length
        if (Option.isSome(hash)) hash.value.update(chunk)
      }
      const check = Effect.gen(function* () {
        // An algorithm ocidx cannot compute leaves only the size to check.
        const actualDigest = Option.isSome(hash) ? `${Digest.algorithm(digest)}:${yield* hash.value.digest}` : undefined
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

    const requirePresent = (digest: Digest.Digest) =>
      Effect.flatMap(statFile(pathOf(digest)), (size) =>
        Option.isSome(size) ? Effect.void : Effect.fail(new BlobNotFound({ path: pathOf(digest), digest }))
      )

    const get = (digest: Digest.Digest, getOptions?: { readonly size?: number | undefined }) =>
      Effect.gen(function* () {
        const file = pathOf(digest)
        const expected = getOptions?.size
        // One platform step. Never more than the blob should hold is read (a 1 GiB file named as a small manifest
        // costs nothing), and one byte more, to see a file that grew after its size was taken.
        const limit = expected ?? Number.MAX_SAFE_INTEGER
        const read = yield* files.readRegularFile(file, limit)
        if (read._tag === "Missing") return yield* new BlobNotFound({ path: file, digest })
        const actualSize = read._tag === "TooLarge" ? read.size : read.bytes.length
        if (read._tag === "TooLarge" || actualSize > limit) {
          return yield* new DigestMismatch({ path: file, expectedDigest: digest, expectedSize: limit, actualSize })
        }
        const { check, update } = verify(file, digest, expected)
        update(read.bytes)
        yield* check
        return read.bytes
      }).pipe(Effect.withSpan("BlobStore.get"))

    const stream = (digest: Digest.Digest, streamOptions?: { readonly size?: number | undefined }) => {
      const file = pathOf(digest)
      return Stream.unwrap(
        Effect.map(requirePresent(digest), () => {
          const { check, update } = verify(file, digest, streamOptions?.size)
          return fs.stream(file, { chunkSize: FileSystem.KiB(256) }).pipe(
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

    const store: BlobStore = { directory: options.directory, pathOf, put, get, stream, has, stat }
    return store
  })
