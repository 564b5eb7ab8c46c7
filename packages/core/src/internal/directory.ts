/** @internal */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { ReadError } from "../Errors.js"

/** Fails with a `ReadError` unless `path` is an existing directory. @internal */
export const requireDirectory = (path: string): Effect.Effect<void, ReadError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.stat(path).pipe(
      Effect.mapError(ReadError.fromPlatformError(path)),
      Effect.filterOrFail(
        (info) => info.type === "Directory",
        () => new ReadError({ path, reason: "not-a-file", cause: "not a directory" })
      ),
      Effect.asVoid
    )
  )
