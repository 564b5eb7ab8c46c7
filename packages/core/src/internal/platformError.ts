/** @internal */
import type { PlatformError } from "@effect/platform/Error"
import * as Predicate from "effect/Predicate"
import type { IoReason } from "../Errors.js"

/**
 * The errno code (`EROFS`, `ENOSPC`, ...) behind a platform error, where the platform kept it: platform maps
 * only a few codes to reasons and reports the rest as "Unknown".
 * @internal
 */
export const errnoOf = (error: PlatformError): string | undefined => {
  const cause: unknown = error._tag === "SystemError" ? error.cause : undefined
  return Predicate.hasProperty(cause, "code") && typeof cause.code === "string" ? cause.code : undefined
}

/** @internal */
export const ioReason = (error: PlatformError): IoReason => {
  switch (errnoOf(error)) {
    case "EROFS":
      return "read-only"
    case "ENOSPC":
    case "EDQUOT":
      return "no-space"
    case "EACCES":
    case "EPERM":
      return "permission"
    case "ENOENT":
      return "not-found"
    case "EISDIR":
    case "ENOTDIR":
      return "not-a-file"
    case "ELOOP":
      return "symlink"
  }
  if (error._tag === "SystemError") {
    if (error.reason === "NotFound") return "not-found"
    if (error.reason === "PermissionDenied") return "permission"
  }
  return "io"
}

/** @internal */
export const isNotFound = (error: PlatformError): boolean => ioReason(error) === "not-found"
