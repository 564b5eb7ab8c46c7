/**
 * verify, phase 1: `oci-layout` exists, is valid, and names the layout version ocidx understands.
 * @internal
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Either } from "effect"
import type { Finding } from "../../Layout.js"
import * as OciLayout from "../../OciLayout.js"
import { decodeJsonFile } from "../decode.js"
import { isNotFound } from "../platformError.js"
import { finding } from "./finding.js"

/** @internal */
export const check = (fs: FileSystem.FileSystem, layoutPath: string): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    const where = { path: layoutPath }
    const bytes = yield* Effect.either(fs.readFile(layoutPath))
    if (Either.isLeft(bytes)) {
      return isNotFound(bytes.left)
        ? [
            finding(
              "error",
              "layout-missing",
              `${layoutPath} is missing; every image layout must have one; init creates it.`,
              where
            )
          ]
        : [finding("error", "layout-unreadable", `cannot read ${layoutPath}: ${bytes.left.message}`, where)]
    }
    const decoded = yield* Effect.either(decodeJsonFile(OciLayout.OciLayout, layoutPath, bytes.right))
    if (Either.isLeft(decoded)) return [finding("error", "layout-invalid", decoded.left.message, where)]
    const version = decoded.right.value.imageLayoutVersion
    return version === OciLayout.supportedVersion
      ? []
      : [
          finding(
            "error",
            "layout-version",
            `${layoutPath}: imageLayoutVersion is "${version}", but ocidx understands only "${OciLayout.supportedVersion}" layouts`,
            where
          )
        ]
  })
