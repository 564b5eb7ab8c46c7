/** @internal */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { type IoReason, ReadError } from "@ocidx/core/Errors"
import { Effect, Predicate } from "effect"

/** The domain reason for a platform error, from its errno where platform kept it. @internal */
export const ioReason = (error: PlatformError): IoReason => {
  const cause: unknown = error._tag === "SystemError" ? error.cause : undefined
  const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
  switch (code) {
    case "ENOENT":
      return "not-found"
    case "EACCES":
    case "EPERM":
      return "permission"
    case "EROFS":
      return "read-only"
    case "ENOSPC":
    case "EDQUOT":
      return "no-space"
    case "EISDIR":
    case "ENOTDIR":
      return "not-a-file"
    case "ELOOP":
      return "symlink"
  }
  if (error._tag === "SystemError" && error.reason === "NotFound") return "not-found"
  if (error._tag === "SystemError" && error.reason === "PermissionDenied") return "permission"
  return "io"
}

/** A `ReadError` for `path` from a platform error. @internal */
export const readError =
  (path: string) =>
  (error: PlatformError): ReadError =>
    new ReadError({ path, reason: ioReason(error), cause: error })

/** Fails with a `ReadError` unless `path` is an existing directory. @internal */
export const requireDirectory = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.stat(path).pipe(
      Effect.mapError(readError(path)),
      Effect.filterOrFail(
        (info) => info.type === "Directory",
        () => new ReadError({ path, reason: "not-a-file", cause: "not a directory" })
      ),
      Effect.asVoid
    )
  )
