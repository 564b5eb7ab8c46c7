/** @internal */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Descriptor, type DescriptorInput } from "../Descriptor.js"
import { DecodeError, DecodeIssue, ReadError } from "../Errors.js"
import * as ImageIndex from "../ImageIndex.js"
import { IndexLock } from "../IndexLock.js"
import * as OciLayout from "../OciLayout.js"
import type { NameOrTag } from "../Reference.js"
import type { IndexSource, Options, ReadFailure, StoreIndex } from "../StoreIndex.js"
import { removeQuietly } from "./atomicWrite.js"
import { sameBytes } from "./bytes.js"
import { decodeJsonFile, decodeUnknown } from "./decode.js"
import * as IndexCodec from "./indexCodec.js"
import * as IndexOps from "./indexOps.js"
import * as JsonReader from "./jsonReader.js"
import * as LayoutFiles from "./layoutFiles.js"
import { retryTornRead } from "./regularFile.js"

const encoder = new TextEncoder()

const sourceOf = (bytes: Option.Option<Uint8Array>): IndexSource =>
  Option.isNone(bytes) ? { kind: "missing" } : { kind: IndexCodec.isBlank(bytes.value) ? "blank" : "text" }

/** The store as core's own modules use it. @internal */
export interface Internal extends StoreIndex {
  /**
   * `read`, with the bytes it decoded: verify checks those bytes (an empty file, a byte-order mark) rather than
   * read index.json a second time, which another writer may have replaced meanwhile.
   */
  readonly readWithBytes: Effect.Effect<
    { readonly index: ImageIndex.ImageIndex; readonly bytes: Uint8Array },
    ReadFailure
  >
}

/** @internal */
export const make = (options: Options): Effect.Effect<Internal, never, FileSystem.FileSystem | Path.Path | IndexLock> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const lock = yield* IndexLock
    const files = yield* LayoutFiles.current
    const directory = options.directory
    const indexPath = path.join(directory, "index.json")
    const lockPath = `${indexPath}.lock`
    const layoutPath = path.join(directory, "oci-layout")
    const context = Context.empty().pipe(Context.add(FileSystem.FileSystem, fs), Context.add(Path.Path, path))
    // One span per operation, none nested for its steps (a put's four nested spans cost a fifth of its
    // instructions), and no stack trace: every one would point into this file.
    const spanOptions = { attributes: { directory }, captureStackTrace: false } as const

    const checkDirectory = files.requireDirectory(directory)

    // index.json is read through the one regular-file reader: no links, no FIFOs, at most the size cap.
    const readIndexBytes = LayoutFiles.readIfExists(files, indexPath, JsonReader.maxIndexBytes)

    // What this store last wrote. Under the lock, a file with exactly these bytes is that index, so it is not
    // parsed again; any other writer's change (even buildkit's same-size rewrite in place) fails the compare.
    let lastWritten: { readonly bytes: Uint8Array; readonly index: ImageIndex.ImageIndex } | undefined

    const decodeIndex = (bytes: Uint8Array) => {
      if (lastWritten !== undefined && sameBytes(bytes, lastWritten.bytes)) return Effect.succeed(lastWritten.index)
      return IndexCodec.isBlank(bytes) ? Effect.succeed(ImageIndex.empty) : IndexCodec.decode(indexPath, bytes)
    }

    /**
     * Reads and decodes index.json. Text that is not JSON is read again a few times before it is an error:
     * buildkit rewrites the file in place, and a reader whose lock file buildkit has just unlinked can catch
     * that write half done. A file that is really corrupt fails the same way a few milliseconds later.
     */
    const readIndex = <E>(
      onMissing: Effect.Effect<ImageIndex.ImageIndex, E>
    ): Effect.Effect<
      { readonly index: ImageIndex.ImageIndex; readonly bytes: Option.Option<Uint8Array> },
      E | ReadError | DecodeError
    > => {
      const attempt = Effect.gen(function* () {
        const bytes = yield* readIndexBytes
        const index = Option.isNone(bytes) ? yield* onMissing : yield* decodeIndex(bytes.value)
        return { index, bytes }
      })
      return retryTornRead(attempt)
    }

    const readWithBytes = Effect.scoped(
      Effect.gen(function* () {
        yield* checkDirectory
        yield* lock.acquire(lockPath, "shared")
        const notFound = new ReadError({ path: indexPath, reason: "not-found" })
        const { bytes, index } = yield* readIndex(Effect.fail(notFound))
        // A missing file failed the read already; this only tells the type so.
        if (Option.isNone(bytes)) return yield* Effect.fail(notFound)
        return { index, bytes: bytes.value }
      })
    ).pipe(Effect.withSpan("StoreIndex.read", spanOptions))

    const read = Effect.map(readWithBytes, ({ index }) => index)

    // The last oci-layout found valid: the same bytes read again need no decode (every put reads the file).
    let lastValidLayout: Uint8Array | undefined

    /** Whether oci-layout must be created; fails when it names a version ocidx does not write. */
    const checkLayoutFile = LayoutFiles.readIfExists(files, layoutPath, JsonReader.maxDocumentBytes).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeed(true),
          onSome: (bytes) =>
            lastValidLayout !== undefined && sameBytes(bytes, lastValidLayout)
              ? Effect.succeed(false)
              : decodeJsonFile(OciLayout.OciLayout, layoutPath, bytes).pipe(
                  Effect.filterOrFail(
                    ({ value }) => value.imageLayoutVersion === OciLayout.supportedVersion,
                    ({ value }) => {
                      const message = `imageLayoutVersion is "${value.imageLayoutVersion}", but ocidx only writes into "${OciLayout.supportedVersion}" layouts`
                      return new DecodeError({
                        path: layoutPath,
                        reason: "unsupported-version",
                        detail: message,
                        issues: [new DecodeIssue({ path: ["imageLayoutVersion"], message })]
                      })
                    }
                  ),
                  Effect.map(() => {
                    lastValidLayout = bytes
                    return false
                  })
                )
        })
      ),
      // buildkit rewrites oci-layout in place too, on every put: a torn read is read again, as index.json is.
      retryTornRead
    )

    /** Writes index.json, and oci-layout first when it is missing, as buildkit does on every put. */
    const writeIndex = (
      bytes: Uint8Array,
      index: ImageIndex.ImageIndex,
      previous: Option.Option<Uint8Array>,
      createLayoutFile: boolean
    ) =>
      Effect.gen(function* () {
        if (createLayoutFile) {
          yield* files.writeAtomic(layoutPath, encoder.encode(OciLayout.defaultContent), { previous: Option.none() })
        }
        lastWritten = undefined
        // An oci-layout made just now goes again when index.json cannot be written: a failed write changes nothing.
        yield* files
          .writeAtomic(indexPath, bytes, { previous })
          .pipe(
            Effect.onError(() => (createLayoutFile ? Effect.provide(removeQuietly(layoutPath), context) : Effect.void))
          )
        lastWritten = { bytes, index }
      })

    /**
     * Whether the lock file is there (or a link is, which the lock refuses): a failed init removes a lock
     * file it created, so that it leaves nothing behind.
     */
    const lockFileExists = Effect.zipWith(
      fs.exists(lockPath).pipe(Effect.orElseSucceed(() => true)),
      Effect.option(fs.readLink(lockPath)),
      (exists, link) => exists || Option.isSome(link)
    )

    /** Creates oci-layout and an empty index.json where missing; leaves existing valid ones alone. */
    const initLocked = Effect.scoped(
      Effect.gen(function* () {
        yield* checkDirectory
        yield* lock.acquire(lockPath, "exclusive")
        const createLayoutFile = yield* checkLayoutFile
        // Validate what is there: init must not bless a corrupt index.
        const { bytes } = yield* readIndex(Effect.succeed(ImageIndex.empty))
        if (Option.isSome(bytes)) {
          if (createLayoutFile) {
            yield* files.writeAtomic(layoutPath, encoder.encode(OciLayout.defaultContent), { previous: Option.none() })
          }
          return
        }
        yield* writeIndex(
          yield* IndexCodec.encodeBytes(indexPath, ImageIndex.empty),
          ImageIndex.empty,
          bytes,
          createLayoutFile
        )
      })
    )

    const init = Effect.gen(function* () {
      const hadLockFile = yield* lockFileExists
      // The lock is released when initLocked ends, so the file it made can go; not after a LockError, when the
      // file may be another process's.
      yield* initLocked.pipe(
        Effect.tapError((error) => (hadLockFile || error._tag === "LockError" ? Effect.void : removeQuietly(lockPath)))
      )
    }).pipe(Effect.provide(context), Effect.withSpan("StoreIndex.init", spanOptions))

    /** `modify` without a span of its own: put, putAll and remove each run inside theirs. */
    const modifyIndex = <A, E, R>(
      f: (index: ImageIndex.ImageIndex, source: IndexSource) => Effect.Effect<readonly [A, ImageIndex.ImageIndex], E, R>
    ) =>
      Effect.scoped(
        Effect.gen(function* () {
          yield* checkDirectory
          yield* lock.acquire(lockPath, "exclusive")
          const createLayoutFile = yield* checkLayoutFile
          const { bytes, index: current } = yield* readIndex(Effect.succeed(ImageIndex.empty))
          const [result, next] = yield* f(current, sourceOf(bytes))
          if (next === current) return result
          // `current` lends its source text to every field and entry the change kept.
          const json = yield* IndexCodec.encodeBytes(`${indexPath} (the new index)`, next, current)
          yield* writeIndex(json, next, bytes, createLayoutFile)
          return result
        })
      )

    const modify = <A, E, R>(
      f: (index: ImageIndex.ImageIndex, source: IndexSource) => Effect.Effect<readonly [A, ImageIndex.ImageIndex], E, R>
    ) => modifyIndex(f).pipe(Effect.withSpan("StoreIndex.modify", spanOptions))

    const inspect = <A, E, R>(f: (index: ImageIndex.ImageIndex, source: IndexSource) => Effect.Effect<A, E, R>) =>
      Effect.scoped(
        Effect.gen(function* () {
          yield* checkDirectory
          yield* lock.acquire(lockPath, "shared")
          // What stands in for a change must refuse what the change would: a layout version ocidx does not write.
          yield* checkLayoutFile
          const { bytes, index } = yield* readIndex(
            Effect.fail(new ReadError({ path: indexPath, reason: "not-found" }))
          )
          return yield* f(index, sourceOf(bytes))
        })
      ).pipe(Effect.withSpan("StoreIndex.inspect", spanOptions))

    const decodeInput = decodeUnknown(Descriptor, "the descriptor given to put")

    const putEach = (
      requests: ReadonlyArray<{ readonly descriptor: DescriptorInput; readonly names?: ReadonlyArray<NameOrTag> }>
    ) =>
      Effect.flatMap(
        Effect.forEach(requests, (request) =>
          Effect.map(decodeInput(request.descriptor), (descriptor) => ({ descriptor, names: request.names ?? [] }))
        ),
        (decoded) =>
          modifyIndex((index) => {
            const { added, index: next } = IndexOps.putAll(index, decoded)
            return Effect.succeed([added, next] as const)
          })
      )

    const putAll = (
      requests: ReadonlyArray<{ readonly descriptor: DescriptorInput; readonly names?: ReadonlyArray<NameOrTag> }>
    ) =>
      putEach(requests).pipe(
        Effect.withSpan("StoreIndex.putAll", {
          attributes: { directory, count: requests.length },
          captureStackTrace: false
        })
      )

    const put = (descriptor: DescriptorInput, names: ReadonlyArray<NameOrTag> = []) =>
      putEach([{ descriptor, names }]).pipe(
        Effect.map((added) => added[0] ?? []),
        Effect.withSpan("StoreIndex.put", spanOptions)
      )

    const remove = (xs: ReadonlyArray<string>) =>
      modifyIndex((index) => {
        const { index: next, removed } = IndexOps.remove(index, xs)
        return Effect.succeed([removed, next] as const)
      }).pipe(Effect.withSpan("StoreIndex.remove", spanOptions))

    const store: Internal = {
      directory,
      indexPath,
      lockPath,
      read,
      readWithBytes,
      list: Effect.map(read, (index) => index.manifests),
      get: (x) => Effect.map(read, (index) => IndexOps.get(index, x)),
      getSingle: Effect.map(read, IndexOps.getSingle),
      init,
      put,
      putAll,
      remove,
      modify,
      inspect
    }
    return store
  })

/** @internal */
export const layer = (tag: Context.Tag<StoreIndex, StoreIndex>, options: Options) => Layer.effect(tag, make(options))
