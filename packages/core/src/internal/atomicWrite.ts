/**
 * Replaces a file so that a crash at any instant leaves the old content or the new, never a mix: write a temp
 * file in the same directory, fsync, rename over the target, fsync the directory.
 * @internal
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Random } from "effect"
import type { Durability } from "../Durability.js"
import { WriteError } from "../Errors.js"
import { ioReason, isNotFound } from "./platformError.js"

/** @internal */
export const tempSuffix = ".ocidx-tmp"

/** A temp name beside `target`, unique across processes (the "wx" open refuses a collision). @internal */
export const tempPathFor = (target: string): Effect.Effect<string, never, Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const token = (yield* Random.nextIntBetween(0, 2 ** 31 - 1)).toString(36) + Date.now().toString(36)
    return path.join(path.dirname(target), `.${path.basename(target)}.${token}${tempSuffix}`)
  })

const writeError =
  (path: string) =>
  (error: PlatformError): WriteError =>
    new WriteError({ path, reason: ioReason(error), cause: error })

/** fsync a directory so a rename into it survives a power loss. @internal */
export const syncDirectory = (directory: string): Effect.Effect<void, WriteError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (dir) => dir.sync))
  }).pipe(Effect.mapError(writeError(directory)))

/** @internal */
export const writeFileAtomic = (
  target: string,
  content: Uint8Array,
  options: { readonly durability: Durability; readonly defaultMode?: number }
): Effect.Effect<void, WriteError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const durable = options.durability === "full"
    // Keep the mode of the file we replace; a new file gets 0644 whatever the umask.
    const mode = yield* fs.stat(target).pipe(
      Effect.map((info) => info.mode & 0o7777),
      Effect.catchIf(isNotFound, () => Effect.succeed(options.defaultMode ?? 0o644)),
      Effect.mapError(writeError(target))
    )
    const temp = yield* tempPathFor(target)
    const writeTemp = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(temp, { flag: "wx", mode })
        yield* file.writeAll(content)
        if (durable) yield* file.sync
      })
    ).pipe(
      Effect.zipRight(fs.chmod(temp, mode)),
      Effect.zipRight(fs.rename(temp, target)),
      Effect.mapError(writeError(target))
    )
    yield* writeTemp.pipe(
      // Whatever failed, the target is untouched; do not leave the temp file behind.
      Effect.onError(() => fs.remove(temp).pipe(Effect.ignore))
    )
    if (durable) yield* syncDirectory(path.dirname(target))
  })
