/**
 * `LayoutFiles` on `node:fs`: each call is one synchronous step, but for a blob of 4 MiB or more in a hash
 * batch, read asynchronously so the disk works while the CPU hashes. A small file costs its few system calls
 * and nothing else; the asynchronous API would add a thread-pool round trip and fiber steps to each of them,
 * which is most of the time spent on a small blob. The opens use O_NOFOLLOW (a link fails with ELOOP, never
 * followed) and O_NONBLOCK (a FIFO opens at once instead of waiting for a writer), and the type of what was
 * opened is checked on the descriptor, so no other process can swap the file between the check and the read.
 * @internal
 */
import { createHash, type Hash, hash as hashOnce } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"
import * as NodePathLayer from "@effect/platform-node/NodePath"
import * as Path from "@effect/platform/Path"
import * as Digest from "@ocidx/core/Digest"
import { CurrentDurability } from "@ocidx/core/Durability"
import { ReadError, WriteError } from "@ocidx/core/Errors"
import {
  type BlobToHash,
  type FileToRead,
  type HashResult,
  type IngestOptions,
  type Ingested,
  LayoutFiles,
  type ReadResult,
  type RemoveOptions,
  type RemoveResult,
  tempPathFor,
  type WriteOptions
} from "@ocidx/core/LayoutFiles"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = NodeFs.constants
const readFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK
const createFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW

/** Large blobs are read this much at a time, into one buffer the whole layer reuses (every step is sync). */
const chunkSize = 1024 * 1024

/**
 * From this size a blob is hashed with asynchronous reads, the next chunk read on the thread pool while this
 * one is hashed: the disk and the hash overlap, where a synchronous read waits for the disk with the CPU idle.
 * Below it the thread-pool round trips would cost more than the overlap saves.
 */
const overlapFrom = 4 * 1024 * 1024

const codeOf = (error: unknown): string | undefined =>
  error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined

const reasonOf = (code: string | undefined): SystemErrorReason => {
  switch (code) {
    case "ENOENT":
      return "NotFound"
    case "EACCES":
    case "EPERM":
      return "PermissionDenied"
    case "EEXIST":
      return "AlreadyExists"
    default:
      return "Unknown"
  }
}

/** A node:fs error as the platform error core's domain errors are made from (errno kept as its cause). */
const systemError = (method: string, path: string, error: unknown): SystemError =>
  new SystemError({
    reason: reasonOf(codeOf(error)),
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    description: error instanceof Error ? error.message : String(error),
    cause: error
  })

const readError = (method: string, path: string, error: unknown): ReadError =>
  ReadError.fromPlatformError(path)(systemError(method, path, error))

const writeError = (method: string, path: string, error: unknown): WriteError =>
  WriteError.fromPlatformError(path)(systemError(method, path, error))

/** The platform's name for what a non-regular file is, as core's portable reader reports it. */
const typeName = (stats: NodeFs.Stats): string =>
  stats.isDirectory()
    ? "Directory"
    : stats.isFIFO()
      ? "FIFO"
      : stats.isSocket()
        ? "Socket"
        : stats.isCharacterDevice()
          ? "CharacterDevice"
          : stats.isBlockDevice()
            ? "BlockDevice"
            : "Unknown"

const closeQuietly = (fd: number): void => {
  try {
    NodeFs.closeSync(fd)
  } catch {
    // Nothing to do: the descriptor is gone either way.
  }
}

const unlinkQuietly = (file: string): void => {
  try {
    NodeFs.unlinkSync(file)
  } catch {
    // Only litter: gc clears old temp files.
  }
}

type Opened =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Refused"; readonly error: ReadError }
  | { readonly _tag: "Open"; readonly fd: number; readonly size: number }

/** Opens a regular file for reading; a link, a non-regular file or a failed open is refused, unread. */
const openRegular = (file: string): Opened => {
  let fd: number
  try {
    fd = NodeFs.openSync(file, readFlags)
  } catch (error) {
    const code = codeOf(error)
    if (code === "ENOENT") return { _tag: "Missing" }
    if (code === "ELOOP") {
      let cause: unknown = error
      try {
        cause = `points to ${NodeFs.readlinkSync(file)}`
      } catch {
        // Not a link after all (too many levels above it): the open's own error says why.
      }
      return { _tag: "Refused", error: new ReadError({ path: file, reason: "symlink", cause }) }
    }
    return { _tag: "Refused", error: readError("open", file, error) }
  }
  try {
    const stats = NodeFs.fstatSync(fd)
    if (stats.isFile()) return { _tag: "Open", fd, size: stats.size }
    NodeFs.closeSync(fd)
    return { _tag: "Refused", error: new ReadError({ path: file, reason: "not-a-file", cause: typeName(stats) }) }
  } catch (error) {
    closeQuietly(fd)
    return { _tag: "Refused", error: readError("stat", file, error) }
  }
}

/**
 * Whether a read that came back with `read` of the `wanted` bytes ended the file: a regular file's read comes
 * back short only at its end, and where that end is the size the open file's fstat gave, the read that would
 * confirm it (returning 0) is skipped: one system call less per small file. A file that grew since its fstat is
 * still read on to its new end.
 */
const endsAtStat = (read: number, wanted: number, total: number, statSize: number): boolean =>
  read < wanted && total === statSize

/** Writes all of `bytes` at the descriptor's position. */
const writeAll = (fd: number, bytes: Uint8Array): void => {
  let written = 0
  while (written < bytes.length) written += NodeFs.writeSync(fd, bytes, written, bytes.length - written)
}

/** fsyncs a directory so a rename into it survives a power loss. */
const syncDirectory = (directory: string): void => {
  const fd = NodeFs.openSync(directory, O_RDONLY)
  try {
    NodeFs.fsyncSync(fd)
  } finally {
    closeQuietly(fd)
  }
}

/** Writes `bytes` to the new file `temp` and renames it over `target`; a failure removes the temp file. */
const replaceSync = (target: string, temp: string, bytes: Uint8Array, mode: number, durable: boolean): void => {
  // Exclusive: a collision fails, and a name that is not ours is never removed.
  const fd = NodeFs.openSync(temp, createFlags, mode)
  try {
    writeAll(fd, bytes)
    // The open's mode went through the umask; the file gets the mode asked for.
    NodeFs.fchmodSync(fd, mode)
    if (durable) NodeFs.fsyncSync(fd)
    NodeFs.closeSync(fd)
  } catch (error) {
    closeQuietly(fd)
    unlinkQuietly(temp)
    throw error
  }
  try {
    NodeFs.renameSync(temp, target)
  } catch (error) {
    unlinkQuietly(temp)
    throw error
  }
}

const modeOf = (target: string, defaultMode: number): number => {
  // Keep the mode of the file we replace; a new file gets the default whatever the umask.
  const stats = NodeFs.statSync(target, { throwIfNoEntry: false })
  return stats === undefined ? defaultMode : stats.mode & 0o7777
}

/** `ingestFile` copies in chunks of this size, through buffers of its own, allocated once per copy. */
const ingestChunkSize = 1024 * 1024

/** How many chunks `ingestFile` has in hand at once: one being read, one being hashed, the rest being written. */
const ingestBuffers = 4

/** The written part of an ingested file is flushed in the background every this many bytes (as in core's). */
const ingestFlushEvery = 64 * 1024 * 1024

/**
 * Copies the open `input` to the open `output` from offset 0, hashing each chunk as its read completes, and
 * fsyncs `output` when `durable`. The reads and writes are asynchronous, on the thread pool: a read is in
 * flight while this thread hashes, and the writes follow in order, so the disk, the copies and the hash
 * overlap, through a ring of buffers allocated once. With `durable`, the written part is flushed (fdatasync) in
 * the background as it grows, so the final fsync has little left. The caller closes both descriptors: this ends
 * only once nothing of it is in flight, also when it fails or is interrupted.
 */
const copyHashing = (
  source: string,
  temp: string,
  input: number,
  output: number,
  hash: Hash,
  durable: boolean,
  onProgress: ((written: number) => void) | undefined
): Effect.Effect<number, ReadError | WriteError> =>
  Effect.async<number, ReadError | WriteError>((resume) => {
    // The ring: chunk i at offset i * ingestChunkSize.
    const ring = new Uint8Array(ingestBuffers * ingestChunkSize)
    const lengths = new Array<number>(ingestBuffers).fill(0)
    // Chunks `first` to `first + filled - 1` (mod the ring) are read and hashed, waiting for their writes.
    let first = 0
    let filled = 0
    let readAt = 0
    let written = 0
    let unflushed = 0
    let reading = false
    let writing = false
    let syncing = false
    let atEnd = false
    let finalSync = false
    let failure: Effect.Effect<never, ReadError | WriteError> | undefined
    let onIdle: (() => void) | undefined

    const busy = () => reading || writing || syncing
    const onRead = (error: Error | null, read: number): void => {
      reading = false
      if (error !== null) {
        failure ??= Effect.fail(readError("read", source, error))
      } else if (read === 0) {
        atEnd = true
      } else {
        const slot = (first + filled) % ingestBuffers
        hash.update(ring.subarray(slot * ingestChunkSize, slot * ingestChunkSize + read))
        lengths[slot] = read
        filled += 1
        readAt += read
      }
      step()
    }
    const writeFrom = (offset: number, length: number): void => {
      const start = first * ingestChunkSize
      NodeFs.write(output, ring, start + offset, length - offset, written + offset, (error, bytes) => {
        if (error === null && offset + bytes < length) {
          writeFrom(offset + bytes, length)
          return
        }
        writing = false
        if (error !== null) {
          failure ??= Effect.fail(writeError("write", temp, error))
        } else {
          written += length
          unflushed += length
          first = (first + 1) % ingestBuffers
          filled -= 1
          try {
            onProgress?.(written)
          } catch (defect) {
            failure ??= Effect.die(defect)
          }
        }
        step()
      })
    }
    const onSynced = (error: Error | null): void => {
      syncing = false
      if (error !== null) failure ??= Effect.fail(writeError("sync", temp, error))
      step()
    }
    const step = (): void => {
      if (failure !== undefined || onIdle !== undefined) {
        // Nothing more is started; once nothing is in flight, the descriptors may be closed.
        if (busy()) return
        if (onIdle !== undefined) onIdle()
        else if (failure !== undefined) resume(failure)
        return
      }
      if (!reading && !atEnd && filled < ingestBuffers) {
        reading = true
        const slot = (first + filled) % ingestBuffers
        NodeFs.read(input, ring, slot * ingestChunkSize, ingestChunkSize, readAt, onRead)
      }
      if (!writing && filled > 0) {
        writing = true
        writeFrom(0, lengths[first] ?? 0)
      }
      if (durable && !syncing && !atEnd && unflushed >= ingestFlushEvery) {
        syncing = true
        unflushed = 0
        NodeFs.fdatasync(output, onSynced)
      }
      if (atEnd && filled === 0 && !busy()) {
        if (durable && !finalSync) {
          finalSync = true
          syncing = true
          NodeFs.fsync(output, onSynced)
        } else {
          resume(Effect.succeed(written))
        }
      }
    }
    step()
    // Interrupted, it waits for what is in flight, so no descriptor is closed under a read, a write or a sync.
    return Effect.async<void>((done) => {
      onIdle = () => done(Effect.void)
      if (!busy()) onIdle()
    })
  })

/** The refusal of `file` when lstat finds something other than a regular file or a link (which the open refuses). */
const specialFile = (file: string): ReadError | undefined => {
  let stats: NodeFs.Stats | undefined
  try {
    stats = NodeFs.lstatSync(file, { throwIfNoEntry: false })
  } catch {
    // The open that follows fails the same way, and says why.
    return undefined
  }
  if (stats === undefined || stats.isFile() || stats.isSymbolicLink()) return undefined
  return new ReadError({ path: file, reason: "not-a-file", cause: typeName(stats) })
}

/** Opens `source` as `readRegularFile` opens a file, then creates `temp` exclusively; refused, creates nothing. */
const openForIngest = (
  source: string,
  temp: string
): Effect.Effect<{ readonly input: number; readonly output: number }, ReadError | WriteError> =>
  Effect.suspend((): Effect.Effect<{ readonly input: number; readonly output: number }, ReadError | WriteError> => {
    // A FIFO is refused unopened: even a non-blocking open lets a writer waiting on it go ahead, into a pipe
    // closed under it (EPIPE). The check on the descriptor still catches a file swapped after this one.
    const special = specialFile(source)
    if (special !== undefined) return Effect.fail(special)
    const opened = openRegular(source)
    if (opened._tag === "Missing") return Effect.fail(new ReadError({ path: source, reason: "not-found" }))
    if (opened._tag === "Refused") return Effect.fail(opened.error)
    try {
      return Effect.succeed({ input: opened.fd, output: NodeFs.openSync(temp, createFlags, 0o644) })
    } catch (error) {
      closeQuietly(opened.fd)
      return Effect.fail(writeError("open", temp, error))
    }
  })

/** `LayoutFiles.ingestFile` on node:fs. A failure or an interruption closes both files and removes `temp`. */
const ingestFile = (
  source: string,
  temp: string,
  options: IngestOptions
): Effect.Effect<Ingested, ReadError | WriteError> =>
  Effect.flatMap(CurrentDurability, (durability) =>
    Effect.acquireUseRelease(
      // `outputClosed`: Linux frees a descriptor even when its close fails, so it is never closed twice (a
      // second close could reach a file the thread pool opened under the same number in between).
      Effect.map(openForIngest(source, temp), (files) => ({ ...files, outputClosed: false })),
      (files) =>
        Effect.suspend(() => {
          const { input, output } = files
          const hash = createHash(options.algorithm)
          const copy = copyHashing(source, temp, input, output, hash, durability === "full", options.onProgress)
          return Effect.flatMap(copy, (size) =>
            Effect.try({
              // A close can report a failed write-back: the copy is not done until it succeeds.
              try: () => {
                files.outputClosed = true
                NodeFs.closeSync(output)
                return { size, hex: hash.digest("hex") }
              },
              catch: (error) => writeError("close", temp, error)
            })
          )
        }),
      ({ input, output, outputClosed }, exit) =>
        Effect.sync(() => {
          closeQuietly(input)
          if (Exit.isFailure(exit)) {
            if (!outputClosed) closeQuietly(output)
            unlinkQuietly(temp)
          }
        })
    )
  )

/** The size of the blocks a batch read carves small files' bytes out of. */
const sharedBlock = 64 * 1024

/**
 * `readRegularFile` as one synchronous step, its bytes in what `allocate` gives (a file that grows while read
 * gets a buffer of its own). One byte more than `maxBytes` at most: a file that grew past it is refused by
 * the JSON reader.
 */
const readSync = (file: string, maxBytes: number, allocate: (length: number) => Uint8Array): ReadResult | ReadError => {
  const opened = openRegular(file)
  if (opened._tag === "Missing") return { _tag: "Missing" }
  if (opened._tag === "Refused") return opened.error
  const { fd, size } = opened
  try {
    if (size > maxBytes) return { _tag: "TooLarge", size }
    const limit = maxBytes + 1
    let bytes = allocate(Math.min(size + 1, limit))
    let total = 0
    while (true) {
      if (total === bytes.length) {
        if (bytes.length >= limit) break
        const grown = new Uint8Array(Math.min(bytes.length * 2, limit))
        grown.set(bytes)
        bytes = grown
      }
      const wanted = bytes.length - total
      const read = NodeFs.readSync(fd, bytes, total, wanted, null)
      if (read === 0) break
      total += read
      if (endsAtStat(read, wanted, total, size)) break
    }
    return { _tag: "Read", bytes: bytes.subarray(0, total) }
  } catch (error) {
    return readError("read", file, error)
  } finally {
    closeQuietly(fd)
  }
}

/** @internal */
export const make: Effect.Effect<LayoutFiles, never, Path.Path> = Effect.gen(function* () {
  const path = yield* Path.Path
  let buffer: Uint8Array | undefined
  const chunkBuffer = (): Uint8Array => {
    buffer ??= new Uint8Array(chunkSize)
    return buffer
  }

  const readRegularFile = (file: string, maxBytes: number): Effect.Effect<ReadResult, ReadError> =>
    Effect.suspend(() => {
      const read = readSync(file, maxBytes, (length) => new Uint8Array(length))
      return read instanceof ReadError ? Effect.fail(read) : Effect.succeed(read)
    })

  /**
   * All in one synchronous run, hashes included. The bytes of small files are carved out of shared blocks, one
   * allocation for many files rather than one each: a layout's manifests are mostly a few KiB.
   */
  const readRegularFiles = (
    files: ReadonlyArray<FileToRead>
  ): Effect.Effect<ReadonlyArray<Either.Either<ReadResult, ReadError>>> =>
    Effect.sync(() => {
      let block = new Uint8Array(0)
      let used = 0
      const allocate = (length: number): Uint8Array => {
        if (length > sharedBlock / 4) return new Uint8Array(length)
        if (block.length - used < length) {
          block = new Uint8Array(sharedBlock)
          used = 0
        }
        const room = block.subarray(used, used + length)
        used += length
        return room
      }
      return files.map(({ hash, maxBytes, path: file }) => {
        const read = readSync(file, maxBytes, allocate)
        if (read instanceof ReadError) return Either.left(read)
        if (hash === undefined || read._tag !== "Read") return Either.right(read)
        // One-shot: no Hash object (and its native handle for the GC to finalise) per manifest.
        return Either.right({ _tag: "Read", bytes: read.bytes, hex: hashOnce(hash, read.bytes, "hex") })
      })
    })

  const writeAtomic = (target: string, content: Uint8Array, options: WriteOptions): Effect.Effect<void, WriteError> =>
    Effect.gen(function* () {
      const durable = (yield* CurrentDurability) === "full"
      const mode = yield* Effect.try({
        try: () => modeOf(target, options.defaultMode ?? 0o644),
        catch: (error) => writeError("stat", target, error)
      })
      const replaceWith = (bytes: Uint8Array) =>
        Effect.flatMap(Effect.provideService(tempPathFor(target), Path.Path, path), (temp) =>
          Effect.try({
            try: () => replaceSync(target, temp, bytes, mode, durable),
            catch: (error) => writeError("writeFile", target, error)
          })
        )
      yield* replaceWith(content)
      if (!durable) return
      const directory = NodePath.dirname(target)
      yield* Effect.try({
        try: () => syncDirectory(directory),
        catch: (error) => writeError("sync", directory, error)
      }).pipe(
        // A failed write changes nothing: the target is put back as it was.
        Effect.tapError(() =>
          Option.match(options.previous, {
            onNone: () => Effect.sync(() => unlinkQuietly(target)),
            onSome: (old) => Effect.ignore(replaceWith(old))
          })
        )
      )
    })

  /** The hash for `digest`, or undefined for an algorithm ocidx cannot compute (only the size is read). */
  const hashFor = (digest: Digest.Digest): Hash | undefined => {
    const algorithm = Digest.algorithm(digest)
    return Digest.isAlgorithm(algorithm) ? createHash(algorithm) : undefined
  }

  const resultOf = (digest: Digest.Digest, hex: string | undefined, size: number): HashResult => {
    // The hex against the digest's encoded part: the actual digest is spelled out only when it differs.
    if (hex === undefined || (digest.endsWith(hex) && digest.charCodeAt(digest.length - hex.length - 1) === 0x3a)) {
      return { _tag: "Ok", size }
    }
    return { _tag: "Mismatch", size, actualDigest: `${Digest.algorithm(digest)}:${hex}` }
  }

  /**
   * Reads an open blob to its end with synchronous reads into the layer's one buffer; closes it. A blob that
   * fits the buffer is hashed in one shot once its end is read, without a Hash object; a larger one is hashed
   * a full buffer at a time.
   */
  const hashSync = (file: string, fd: number, digest: Digest.Digest, statSize: number): HashResult => {
    const algorithm = Digest.algorithm(digest)
    const computable = Digest.isAlgorithm(algorithm)
    const chunk = chunkBuffer()
    let hash: Hash | undefined
    let filled = 0
    let size = 0
    try {
      while (true) {
        if (filled === chunk.length) {
          if (computable) {
            hash ??= createHash(algorithm)
            hash.update(chunk)
          }
          filled = 0
        }
        const wanted = chunk.length - filled
        const read = NodeFs.readSync(fd, chunk, filled, wanted, null)
        if (read === 0) break
        filled += read
        size += read
        if (endsAtStat(read, wanted, size, statSize)) break
      }
    } catch (error) {
      return { _tag: "Failed", error: readError("read", file, error) }
    } finally {
      closeQuietly(fd)
    }
    if (!computable) return resultOf(digest, undefined, size)
    const rest = chunk.subarray(0, filled)
    return resultOf(
      digest,
      hash === undefined ? hashOnce(algorithm, rest, "hex") : hash.update(rest).digest("hex"),
      size
    )
  }

  /** Reads an open blob to its end, one read always in flight while the chunk before it is hashed; closes it. */
  const hashOverlapped = (file: string, fd: number, digest: Digest.Digest): Effect.Effect<HashResult> => {
    const hash = hashFor(digest)
    return Effect.async<number, unknown>((resume) => {
      // Two buffers of its own: other batches may run meanwhile and use the layer's one.
      let filling = new Uint8Array(chunkSize)
      let spare = new Uint8Array(chunkSize)
      let size = 0
      let interrupted: (() => void) | undefined
      const onRead = (error: Error | null, read: number): void => {
        if (interrupted !== undefined) {
          interrupted()
        } else if (error !== null) {
          resume(Effect.fail(error))
        } else if (read === 0) {
          resume(Effect.succeed(size))
        } else {
          const filled = filling
          filling = spare
          spare = filled
          NodeFs.read(fd, filling, 0, chunkSize, size + read, onRead)
          hash?.update(filled.subarray(0, read))
          size += read
        }
      }
      NodeFs.read(fd, filling, 0, chunkSize, 0, onRead)
      // Interrupted, it waits for the read in flight, so the descriptor is not closed under it.
      return Effect.async<void>((done) => {
        interrupted = () => done(Effect.void)
      })
    }).pipe(
      Effect.map((size) => resultOf(digest, hash?.digest("hex"), size)),
      Effect.catchAll((error) => Effect.succeed<HashResult>({ _tag: "Failed", error: readError("read", file, error) })),
      Effect.ensuring(Effect.sync(() => closeQuietly(fd)))
    )
  }

  /**
   * Small blobs in one synchronous run, each a few system calls and its result; a step of its own for each
   * large one, its reads overlapping its hash.
   */
  const hashBlobs = (blobs: ReadonlyArray<BlobToHash>): Effect.Effect<ReadonlyArray<HashResult>> =>
    Effect.suspend(() => {
      const results: Array<HashResult> = []
      let next = 0
      const run = (): Effect.Effect<ReadonlyArray<HashResult>> => {
        while (next < blobs.length) {
          const blob = blobs[next++]
          if (blob === undefined) break
          const opened = openRegular(blob.path)
          if (opened._tag === "Missing") results.push({ _tag: "Missing" })
          else if (opened._tag === "Refused") results.push({ _tag: "Failed", error: opened.error })
          else if (opened.size < overlapFrom) results.push(hashSync(blob.path, opened.fd, blob.digest, opened.size))
          else {
            return Effect.flatMap(hashOverlapped(blob.path, opened.fd, blob.digest), (result) => {
              results.push(result)
              return run()
            })
          }
        }
        return Effect.succeed(results)
      }
      return run()
    })

  const removeOne = (file: string, options: RemoveOptions): RemoveResult | ReadError | WriteError => {
    let stats: NodeFs.Stats | undefined
    try {
      stats = NodeFs.lstatSync(file, { throwIfNoEntry: false })
    } catch (error) {
      return readError("stat", file, error)
    }
    if (stats === undefined) return { _tag: "Missing" }
    // unlink would remove a link, not follow it; refusing it still leaves anything a link names untouched.
    if (stats.isSymbolicLink()) return { _tag: "Refused", reason: "symlink" }
    if (!stats.isFile()) return { _tag: "Refused", reason: "not-a-file" }
    // Whole milliseconds, as FileSystem reports mtimes: with no grace, a file written this millisecond goes too.
    if (Math.floor(stats.mtimeMs) > options.olderThan) return { _tag: "Young" }
    if (options.dryRun) return { _tag: "Removed", size: stats.size }
    try {
      NodeFs.unlinkSync(file)
    } catch (error) {
      // Gone already (another gc, or a writer's rename): nothing to do.
      if (codeOf(error) === "ENOENT") return { _tag: "Missing" }
      return writeError("remove", file, error)
    }
    return { _tag: "Removed", size: stats.size }
  }

  const requireDirectory = (directory: string): Effect.Effect<void, ReadError> =>
    Effect.suspend(() => {
      let stats: NodeFs.Stats
      try {
        // Follows a link, as Layout.requireDirectory's stat does: a layout may be reached through one.
        stats = NodeFs.statSync(directory)
      } catch (error) {
        return Effect.fail(readError("stat", directory, error))
      }
      return stats.isDirectory()
        ? Effect.void
        : Effect.fail(new ReadError({ path: directory, reason: "not-a-file", cause: "not a directory" }))
    })

  return LayoutFiles.of({
    readRegularFile,
    requireDirectory,
    readRegularFiles,
    writeAtomic,
    ingestFile,
    hashBlobs,
    removeFiles: (files, options) =>
      Effect.suspend(() => {
        const results: Array<RemoveResult> = []
        for (const file of files) {
          const result = removeOne(file, options)
          // The first failure stops the batch, the files after it left as they are.
          if (result instanceof ReadError || result instanceof WriteError) return Effect.fail(result)
          results.push(result)
        }
        return Effect.succeed(results)
      })
  })
})

/** @internal */
export const layer: Layer.Layer<LayoutFiles> = Layer.effect(LayoutFiles, make).pipe(Layer.provide(NodePathLayer.layer))
