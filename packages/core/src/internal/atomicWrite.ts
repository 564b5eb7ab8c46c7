/**
 * Replaces a file so that a crash at any instant leaves the old content or the new, never a mix: write a temp
 * file in the same directory, fsync, rename over the target, fsync the directory.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import { WriteError } from "../Errors.js"

/** @internal */
export const tempSuffix = ".ocidx-tmp"

/** A temp name beside `target`, unique across processes (the "wx" open refuses a collision). @internal */
export const tempPathFor = (target: string): Effect.Effect<string, never, Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const token = (yield* Random.nextIntBetween(0, 2 ** 31 - 1)).toString(36) + Date.now().toString(36)
    return path.join(path.dirname(target), `.${path.basename(target)}.${token}${tempSuffix}`)
  })

/**
 * Whether `name` is a temp name `tempPathFor` makes beside a file named `target`: gc and verify match
 * ocidx's own pattern exactly, so nothing else in a directory is ever taken for a temp file.
 * @internal
 */
export const isTempNameFor = (target: string, name: string): boolean => {
  const prefix = `.${target}.`
  return (
    name.startsWith(prefix) &&
    name.endsWith(tempSuffix) &&
    /^[0-9a-z]+$/.test(name.slice(prefix.length, name.length - tempSuffix.length))
  )
}

/** fsync a directory so a rename into it survives a power loss. @internal */
export const syncDirectory = (directory: string): Effect.Effect<void, WriteError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (dir) => dir.sync))
  }).pipe(Effect.mapError(WriteError.fromPlatformError(directory)))

/** Removes a temp file we created, ignoring failure: it is only litter, and gc clears old ones. @internal */
export const removeQuietly = (file: string): Effect.Effect<void, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.ignore(fs.remove(file)))

/**
 * Creates `temp` exclusively, for the life of the scope, and removes it if the scope fails. The exclusive
 * create makes the name ours, so only then may a failure remove it; open and cleanup are one step, so an
 * interruption cannot fall between them and leave the file behind.
 * @internal
 */
export const createTemp = (
  temp: string,
  mode: number
): Effect.Effect<FileSystem.File, PlatformError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.uninterruptible(
      Effect.tap(fs.open(temp, { flag: "wx", mode }), () =>
        Effect.addFinalizer((exit) => (Exit.isFailure(exit) ? removeQuietly(temp) : Effect.void))
      )
    )
  )
