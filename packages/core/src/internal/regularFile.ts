/**
 * The one way ocidx opens a file inside a layout (index.json, oci-layout, blobs and the manifests among them),
 * and checks a directory it writes or deletes in (`blobs/`, `blobs/<alg>`). Links are refused, not followed:
 * a link may point outside the layout, and ocidx must never read, create or delete anything out there. A file
 * that is not regular is refused before it is opened: opening a FIFO blocks until a writer comes, for ever.
 * Core sees only @effect/platform's FileSystem, which has no O_NOFOLLOW or O_NONBLOCK open, so the checks are
 * a readLink and a stat just before the open (docs/guarantees.md, "Link policy").
 * @internal
 */
import type { FileSystem } from "@effect/platform"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { DecodeError, DecodeIssue, ReadError } from "../Errors.js"
import { isNotFound } from "./platformError.js"

/** Where `file` points, when it is a symbolic link. @internal */
export const linkTarget = (fs: FileSystem.FileSystem, file: string): Effect.Effect<Option.Option<string>> =>
  // readLink fails on anything that is not a link (EINVAL), and on a missing file: neither is a link.
  Effect.option(fs.readLink(file))

/**
 * A regular file's size; None when it does not exist. A symbolic link, a directory, a FIFO, a device or a
 * socket fails with a `ReadError` ("symlink" or "not-a-file") before anything opens it.
 * @internal
 */
export const statRegularFile = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<Option.Option<number>, ReadError> =>
  Effect.gen(function* () {
    const link = yield* linkTarget(fs, file)
    if (Option.isSome(link)) {
      return yield* new ReadError({ path: file, reason: "symlink", cause: `points to ${link.value}` })
    }
    const info = yield* fs.stat(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError(ReadError.fromPlatformError(file))
    )
    if (Option.isNone(info)) return Option.none()
    if (info.value.type !== "File") {
      return yield* new ReadError({ path: file, reason: "not-a-file", cause: info.value.type })
    }
    return Option.some(Number(info.value.size))
  })

/**
 * Fails with a `DecodeError` ("symlink") when `directory` is a symbolic link: gc would delete, and a blob
 * write would create, files wherever it points. A layout whose `blobs/` or `blobs/<alg>` is a link is not one
 * ocidx can keep its promises in, so this is invalid data, not an I/O error. Anything else passes; what is
 * missing or not a directory is found by whoever goes on to use it.
 * @internal
 */
export const refuseLinkedDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<void, DecodeError> =>
  Effect.flatMap(linkTarget(fs, directory), (link) => {
    if (Option.isNone(link)) return Effect.void
    const message = `it is a symbolic link (to ${link.value}); ocidx never follows links inside a layout`
    return Effect.fail(
      new DecodeError({
        path: directory,
        reason: "symlink",
        detail: message,
        issues: [new DecodeIssue({ path: [], message })]
      })
    )
  })

/** A read that caught a rewrite half done is tried again 5 ms later, four times at most: five reads in all. */
const tornReadDelay = "5 millis"
const tornReadRetry = Schedule.spaced(tornReadDelay).pipe(Schedule.intersect(Schedule.recurs(3)))

// The retry waits for another process to finish its write, which a test clock never advances: real time.
const realClock = Clock.make()

const isTorn = (error: unknown): boolean =>
  error instanceof DecodeError && (error.reason === "json" || error.reason === "utf8")

/**
 * Reads a JSON file again, a few times, while what it read is not JSON: buildkit rewrites index.json and
 * oci-layout in place, and a reader can catch that write half done. A file that is really corrupt fails the
 * same way a few milliseconds later.
 * @internal
 */
export const retryTornRead = <A, E, R>(read: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // The first read runs bare: a retry's schedule and clock cost every put, and nearly every read succeeds.
  Effect.catchIf(read, isTorn, () =>
    Effect.zipRight(Effect.sleep(tornReadDelay), read).pipe(
      Effect.retry({ schedule: tornReadRetry, while: isTorn }),
      Effect.withClock(realClock)
    )
  )
