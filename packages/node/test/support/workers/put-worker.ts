/**
 * A child process that puts tags into one layout through ocidx (StoreIndex on NodeServices).
 *
 *   --dir <layout> --prefix <p> [--count n] [--cycle m] [--stop-file f] [--durability full|none]
 *   [--lock-timeout-ms t] [--output json|text] [--blobs true]
 *
 * Put i tags `<p>-<i>` (or `<p>-<i mod m>` with --cycle, to keep the index small while rewriting it), each with
 * a digest of its own, until --count puts are done or --stop-file exists. With --blobs, each put is preceded by
 * blob puts of a real image (config, layer, manifest), as a program that writes an image does. Output, one line each, written
 * synchronously: with `json`, `{"type":"ready"}`, one `{"type":"put","tag","ok","ms",...}` per put, then
 * `{"type":"done","ok","failed"}`; with `text`, `ready`, then `ok <tag>` or `err <tag> <error>` per put, for a
 * parent that kills this process at a random moment.
 */
import * as NodeFs from "node:fs"
import type { Durability } from "@ocidx/core/Durability"
import * as BlobStore from "@ocidx/core/BlobStore"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as NodeServices from "../../../src/NodeServices.js"
import { descriptorFor, imageFor, intArg, parseArgs, requireArg, tagOf, writeJson, writeLine } from "./common.js"

const args = parseArgs(process.argv.slice(2))
const directory = requireArg(args, "dir")
const prefix = requireArg(args, "prefix")
const count = intArg(args, "count", Number.MAX_SAFE_INTEGER)
const cycle = intArg(args, "cycle", 0)
const stopFile = args.get("stop-file")
const durability: Durability = args.get("durability") === "none" ? "none" : "full"
const lockTimeoutMs = args.get("lock-timeout-ms")
const lockTimeout =
  lockTimeoutMs === undefined ? IndexLock.defaultTimeout : Duration.millis(Number.parseInt(lockTimeoutMs, 10))
const text = args.get("output") === "text"
const withBlobs = args.get("blobs") === "true"

const program = Effect.gen(function* () {
  const store = yield* StoreIndex.make({ directory })
  const blobStore = yield* BlobStore.make({ directory })
  /** The descriptor put i tags: with --blobs, a real image whose blobs are put first. */
  const descriptorOf = (i: number) => {
    if (!withBlobs) return Effect.succeed(descriptorFor(`${prefix}/${i}`))
    const image = imageFor(`${prefix}/${i}`)
    return Effect.as(
      // The bytes are made here, so a mismatch is a bug of this program, not a put that failed.
      Effect.forEach(image.blobs, (blob) => Effect.catchTag(blobStore.put(blob.bytes), "DigestMismatch", Effect.die)),
      image.manifest
    )
  }
  // The lock once before "ready": koffi (flock) loads with the first lock, and a parent that kills this
  // process a few milliseconds after "ready" means to stop it inside a put, not inside that load.
  yield* Effect.scoped(Effect.flatMap(IndexLock.IndexLock, (lock) => lock.acquire(store.lockPath, "shared")))
  if (text) writeLine("ready")
  else writeJson({ type: "ready", pid: process.pid })
  let ok = 0
  let failed = 0
  for (let i = 0; i < count; i++) {
    if (stopFile !== undefined && NodeFs.existsSync(stopFile)) break
    const tag = cycle > 0 ? `${prefix}-${i % cycle}` : `${prefix}-${i}`
    const started = performance.now()
    const result = yield* Effect.either(
      Effect.flatMap(descriptorOf(i), (descriptor) => store.put(descriptor, [tagOf(tag)]))
    )
    const ms = Math.round((performance.now() - started) * 1000) / 1000
    if (Either.isRight(result)) {
      ok++
      if (text) writeLine(`ok ${tag}`)
      else writeJson({ type: "put", tag, ok: true, ms })
    } else {
      failed++
      const error = result.left
      if (text) writeLine(`err ${tag} ${error._tag}:${error.reason}`)
      else
        writeJson({ type: "put", tag, ok: false, ms, error: error._tag, reason: error.reason, message: error.message })
    }
  }
  if (!text) writeJson({ type: "done", ok, failed })
}).pipe(
  Effect.provide(NodeServices.layer({ durability })),
  Effect.provideService(IndexLock.CurrentLockTimeout, lockTimeout)
)

Effect.runPromise(program).catch((error: unknown) => {
  writeJson({ type: "fatal", message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  process.exitCode = 70
})
