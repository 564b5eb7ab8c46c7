/**
 * verify, phase 1: `oci-layout` exists, is valid, and names the layout version ocidx understands.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Finding } from "../../Layout.js"
import type { LayoutFiles } from "../../LayoutFiles.js"
import * as OciLayout from "../../OciLayout.js"
import { decodeJsonFile } from "../decode.js"
import * as JsonReader from "../jsonReader.js"
import { readIfExists } from "../layoutFiles.js"
import { retryTornRead } from "../regularFile.js"
import { finding } from "./finding.js"

/** @internal */
export const check = (files: LayoutFiles, layoutPath: string): Effect.Effect<ReadonlyArray<Finding>> =>
  Effect.gen(function* () {
    const where = { path: layoutPath }
    // The one regular-file reader: a FIFO there is refused at once, a directory with a clean message, and a
    // file caught half rewritten (buildkit writes it in place) is read again.
    const read = yield* Effect.either(
      retryTornRead(
        readIfExists(files, layoutPath, JsonReader.maxDocumentBytes).pipe(
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.succeedNone,
              onSome: (bytes) => Effect.map(decodeJsonFile(OciLayout.OciLayout, layoutPath, bytes), Option.some)
            })
          )
        )
      )
    )
    if (Either.isLeft(read)) {
      return read.left._tag === "ReadError"
        ? [finding("error", "layout-unreadable", read.left.message, where)]
        : [finding("error", "layout-invalid", read.left.message, where)]
    }
    if (Option.isNone(read.right)) {
      return [
        finding(
          "error",
          "layout-missing",
          `${layoutPath} is missing; every image layout must have one; init creates it.`,
          where
        )
      ]
    }
    const decoded = read.right
    const version = decoded.value.value.imageLayoutVersion
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
