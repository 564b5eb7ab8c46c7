/** @internal */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Context, Effect, Layer, Option } from "effect"
import { Descriptor, type DescriptorInput } from "../Descriptor.js"
import { CurrentDurability } from "../Durability.js"
import { DecodeError, DecodeIssue, ReadError } from "../Errors.js"
import * as ImageIndex from "../ImageIndex.js"
import { IndexLock } from "../IndexLock.js"
import * as OciLayout from "../OciLayout.js"
import type { NameOrTag } from "../Reference.js"
import type { Options, StoreIndex } from "../StoreIndex.js"
import { writeFileAtomic } from "./atomicWrite.js"
import { decodeJsonFile, decodeUnknown } from "./decode.js"
import * as IndexCodec from "./indexCodec.js"
import * as IndexOps from "./indexOps.js"
import { ioReason, isNotFound } from "./platformError.js"

const encoder = new TextEncoder()

/** @internal */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const lock = yield* IndexLock
    const directory = options.directory
    const indexPath = path.join(directory, "index.json")
    const lockPath = `${indexPath}.lock`
    const layoutPath = path.join(directory, "oci-layout")
    const context = Context.empty().pipe(Context.add(FileSystem.FileSystem, fs), Context.add(Path.Path, path))

    const readError =
      (file: string) =>
      (error: PlatformError): ReadError =>
        new ReadError({ path: file, reason: ioReason(error), cause: error })

    const checkDirectory = fs.stat(directory).pipe(
      Effect.mapError(readError(directory)),
      Effect.filterOrFail(
        (info) => info.type === "Directory",
        () => new ReadError({ path: directory, reason: "not-a-file", cause: "not a directory" })
      ),
      Effect.asVoid
    )

    /** A file's bytes, or None when it does not exist. */
    const readIfExists = (file: string): Effect.Effect<Option.Option<Uint8Array>, ReadError> =>
      fs.readFile(file).pipe(
        Effect.map((bytes) => Option.some(bytes)),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<Uint8Array>())),
        Effect.mapError(readError(file))
      )
    const readIndexBytes = readIfExists(indexPath)

    const decodeIndex = (bytes: Uint8Array) =>
      IndexCodec.isBlank(bytes) ? Effect.succeed(ImageIndex.empty) : IndexCodec.decode(indexPath, bytes)

    const read = Effect.scoped(
      Effect.gen(function* () {
        yield* checkDirectory
        yield* lock.acquire(lockPath, "shared")
        const bytes = yield* readIndexBytes
        if (Option.isNone(bytes)) {
          return yield* new ReadError({ path: indexPath, reason: "not-found" })
        }
        return yield* decodeIndex(bytes.value)
      })
    ).pipe(Effect.withSpan("StoreIndex.read", { attributes: { directory } }))

    /** Whether oci-layout must be created; fails when it names a version ocidx does not write. */
    const checkLayoutFile = readIfExists(layoutPath).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeed(true),
          onSome: (bytes) =>
            decodeJsonFile(OciLayout.OciLayout, layoutPath, bytes).pipe(
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
              Effect.as(false)
            )
        })
      )
    )

    const modify = <A, E, R>(
      f: (index: ImageIndex.ImageIndex) => Effect.Effect<readonly [A, ImageIndex.ImageIndex], E, R>
    ) =>
      Effect.scoped(
        Effect.gen(function* () {
          yield* checkDirectory
          yield* lock.acquire(lockPath, "exclusive")
          const createLayoutFile = yield* checkLayoutFile
          const bytes = yield* readIndexBytes
          const current = Option.isSome(bytes) ? yield* decodeIndex(bytes.value) : ImageIndex.empty
          const [result, next] = yield* f(current)
          const indexChanged = next !== current || Option.isNone(bytes)
          if (!indexChanged && !createLayoutFile) return result
          const json = yield* IndexCodec.encode(`${indexPath} (the new index)`, next)
          const durability = yield* CurrentDurability
          if (createLayoutFile) {
            yield* writeFileAtomic(layoutPath, encoder.encode(OciLayout.defaultContent), { durability })
          }
          if (indexChanged) yield* writeFileAtomic(indexPath, encoder.encode(json), { durability })
          return result
        })
      ).pipe(Effect.provide(context), Effect.withSpan("StoreIndex.modify", { attributes: { directory } }))

    const decodeInput = decodeUnknown(Descriptor, "the descriptor given to put")

    const put = (descriptor: DescriptorInput, names: ReadonlyArray<NameOrTag> = []) =>
      decodeInput(descriptor).pipe(
        Effect.flatMap((decoded) =>
          modify((index) => {
            const { added, index: next } = IndexOps.put(index, decoded, names)
            return Effect.succeed([added, next] as const)
          })
        ),
        Effect.withSpan("StoreIndex.put", { attributes: { directory } })
      )

    const remove = (xs: ReadonlyArray<string>) =>
      modify((index) => {
        const { index: next, removed } = IndexOps.remove(index, xs)
        return Effect.succeed([removed, next] as const)
      }).pipe(Effect.withSpan("StoreIndex.remove", { attributes: { directory } }))

    const store: StoreIndex = {
      directory,
      indexPath,
      lockPath,
      read,
      list: Effect.map(read, (index) => index.manifests),
      get: (x) => Effect.map(read, (index) => IndexOps.get(index, x)),
      getSingle: Effect.map(read, IndexOps.getSingle),
      put,
      remove,
      modify
    }
    return store
  })

/** @internal */
export const layer = (tag: Context.Tag<StoreIndex, StoreIndex>, options: Options) => Layer.effect(tag, make(options))
