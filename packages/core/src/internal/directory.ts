/** @internal */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
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
