/**
 * A child process that changes index.json exactly as buildkit's client/ociindex `StoreIndex.Put` does (with
 * gofrs/flock), to prove ocidx interoperates with it on one layout:
 *
 * 1. open `index.json.lock` O_CREAT|O_RDONLY 0600 and flock LOCK_EX|LOCK_NB (`TryLock`); busy = give up;
 * 2. write `oci-layout` (O_WRONLY|O_CREAT|O_TRUNC 0644);
 * 3. open `index.json` O_RDWR|O_CREAT 0644, read it all, add the entry (replacing the same ref name), marshal
 *    it as Go does, write it IN PLACE at offset 0 and ftruncate to the new length, close;
 * 4. unlock (LOCK_UN, close), then UNLINK the lock file (`os.RemoveAll`).
 *
 * buildkit fails when the lock is busy; this program tries again after a short pause, to keep producing work.
 *
 *   --dir <layout> --prefix <p> --stop-file <f> [--max n] [--pause-ms m] [--busy-pause-ms b] [--unlink-gap-ms g]
 *   [--blobs true]
 *
 * With --blobs, each entry is a real image whose blobs are written first as containerd's local content store
 * writes them (the store buildkit's local exporters write through): into `ingest/<ref hash>/data`, then renamed
 * into `blobs/sha256/`.
 *
 * Output, JSON lines written synchronously: `{"type":"put","tag"}` after each completed Put (lock held
 * throughout), `{"type":"error","tag","message"}` for a Put that failed, then
 * `{"type":"done","puts","busy","errors"}`.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Flock from "../../../src/internal/flock.js"
import { descriptorFor, imageFor, intArg, parseArgs, requireArg, sleepSync, writeJson } from "./common.js"

// libc's flock(2) through koffi, as ocidx calls it, loaded once: the loop below calls it synchronously.
const flock = await Effect.runPromise(Flock.loadLibcFlock(process.platform))

const args = parseArgs(process.argv.slice(2))
const directory = requireArg(args, "dir")
const prefix = requireArg(args, "prefix")
const stopFile = requireArg(args, "stop-file")
const max = intArg(args, "max", Number.MAX_SAFE_INTEGER)
const pauseMs = intArg(args, "pause-ms", 2)
const busyPauseMs = intArg(args, "busy-pause-ms", 1)
// Widens the window between buildkit's unlock and its unlink (0 = exactly as buildkit), to reproduce the race
// it opens at will: a writer that takes the lock in that window holds a lock on a file about to be unlinked.
const unlinkGapMs = intArg(args, "unlink-gap-ms", 0)
const withBlobs = args.get("blobs") === "true"

const indexPath = NodePath.join(directory, "index.json")
const lockPath = `${indexPath}.lock`
const layoutPath = NodePath.join(directory, "oci-layout")

const refNameKey = "org.opencontainers.image.ref.name"
const imageNameKey = "io.containerd.image.name"
const ociIndexMediaType = "application/vnd.oci.image.index.v1+json"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const stringField = (value: Json | undefined, key: string): string => {
  if (!isObject(value)) return ""
  const field = value[key]
  return typeof field === "string" ? field : ""
}

const isEmpty = (value: Json | undefined): boolean =>
  value === undefined ||
  value === null ||
  value === "" ||
  value === 0 ||
  value === false ||
  (Array.isArray(value) && value.length === 0) ||
  (isObject(value) && Object.keys(value).length === 0)

/** A Go struct marshals its known fields in declaration order, omits empty `omitempty` ones, drops the rest. */
const goStruct = (value: JsonObject, fields: ReadonlyArray<readonly [string, boolean]>): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const [key, omitEmpty] of fields) {
    const field = value[key]
    if (omitEmpty && isEmpty(field)) continue
    out[key] = field ?? null
  }
  return out
}

/** Go marshals a map with its keys sorted. */
const goMap = (value: JsonObject): Record<string, Json> =>
  Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, value[key] ?? null])
  )

// ocispecs.Descriptor and ocispecs.Index field order.
const descriptorFields = [
  ["mediaType", false],
  ["digest", false],
  ["size", false],
  ["urls", true],
  ["annotations", true],
  ["data", true],
  ["platform", true],
  ["artifactType", true]
] as const
const indexFields = [
  ["schemaVersion", false],
  ["mediaType", true],
  ["artifactType", true],
  ["manifests", false],
  ["subject", true],
  ["annotations", true]
] as const

const marshalDescriptor = (value: Json): Json => {
  if (!isObject(value)) return value
  const out = goStruct(value, descriptorFields)
  const annotations = out.annotations
  if (isObject(annotations)) out.annotations = goMap(annotations)
  return out
}

const marshalIndex = (index: JsonObject): string => {
  const out = goStruct(index, indexFields)
  const manifests = out.manifests
  if (Array.isArray(manifests)) out.manifests = manifests.map(marshalDescriptor)
  if (isObject(out.annotations)) out.annotations = goMap(out.annotations)
  return JSON.stringify(out)
}

/** insertDesc with a tag: the copy gets ref.name = tag; entries with that ref name and no image name go. */
const insertDesc = (index: JsonObject, descriptor: JsonObject, tag: string): JsonObject => {
  const annotations = isObject(descriptor.annotations) ? descriptor.annotations : {}
  const entry: JsonObject = { ...descriptor, annotations: { ...annotations, [refNameKey]: tag } }
  const current = Array.isArray(index.manifests) ? index.manifests : []
  const kept = current.filter(
    (m: Json) =>
      stringField(isObject(m) ? m.annotations : null, refNameKey) !== tag ||
      stringField(isObject(m) ? m.annotations : null, imageNameKey) !== ""
  )
  return { ...index, manifests: [...kept, entry] }
}

const setIndexDefaults = (index: JsonObject): JsonObject => ({
  ...index,
  schemaVersion: index.schemaVersion === undefined || index.schemaVersion === 0 ? 2 : index.schemaVersion,
  mediaType: typeof index.mediaType === "string" && index.mediaType !== "" ? index.mediaType : ociIndexMediaType
})

const readAll = (fd: number): Buffer => {
  const chunks: Array<Buffer> = []
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024)
    const read = NodeFs.readSync(fd, chunk, 0, chunk.length, null)
    if (read === 0) return Buffer.concat(chunks)
    chunks.push(chunk.subarray(0, read))
  }
}

const writeAt = (fd: number, bytes: Buffer, position: number): void => {
  let offset = 0
  while (offset < bytes.length) offset += NodeFs.writeSync(fd, bytes, offset, bytes.length - offset, position + offset)
}

const isWouldBlock = (errno: number): boolean =>
  errno === NodeOs.constants.errno.EAGAIN || errno === NodeOs.constants.errno.EWOULDBLOCK

/** flock(2) that throws on any error but "busy"; false when the lock is held elsewhere. */
const flockOrThrow = (fd: number, operation: number): boolean => {
  const errno = flock(fd, operation)
  if (errno === 0) return true
  if (isWouldBlock(errno)) return false
  throw new Error(`flock(${operation}) failed with errno ${errno}`)
}

/** StoreIndex.Put(desc, Tag(tag)). "busy" when TryLock did not get the lock. */
const put = (descriptor: JsonObject, tag: string): "done" | "busy" => {
  const { O_CREAT, O_RDONLY, O_RDWR } = NodeFs.constants
  const lockFd = NodeFs.openSync(lockPath, O_CREAT | O_RDONLY, 0o600)
  let locked = false
  try {
    locked = flockOrThrow(lockFd, Flock.LOCK_EX | Flock.LOCK_NB)
  } finally {
    if (!locked) NodeFs.closeSync(lockFd)
  }
  if (!locked) return "busy"
  try {
    NodeFs.writeFileSync(layoutPath, JSON.stringify({ imageLayoutVersion: "1.0.0" }), { mode: 0o644 })
    const indexFd = NodeFs.openSync(indexPath, O_RDWR | O_CREAT, 0o644)
    try {
      const bytes = readAll(indexFd)
      const parsed: Json = bytes.length > 0 ? JSON.parse(bytes.toString("utf8")) : {}
      if (!isObject(parsed)) throw new Error(`${indexPath} is not a JSON object`)
      const next = insertDesc(setIndexDefaults(parsed), descriptor, tag)
      const out = Buffer.from(marshalIndex(next), "utf8")
      writeAt(indexFd, out, 0)
      NodeFs.ftruncateSync(indexFd, out.length)
    } finally {
      NodeFs.closeSync(indexFd)
    }
    return "done"
  } finally {
    // gofrs/flock Unlock: LOCK_UN and close; then buildkit removes the lock file.
    flockOrThrow(lockFd, Flock.LOCK_UN)
    NodeFs.closeSync(lockFd)
    sleepSync(unlinkGapMs)
    NodeFs.rmSync(lockPath, { force: true })
  }
}

/** Writes an image's blobs as containerd's content store does: ingest/<hash of ref>/data, then rename. */
const writeBlobs = (seed: string): JsonObject => {
  const image = imageFor(seed)
  for (const blob of image.blobs) {
    const encoded = blob.digest.slice("sha256:".length)
    const target = NodePath.join(directory, "blobs", "sha256", encoded)
    if (NodeFs.existsSync(target)) continue
    const ingest = NodePath.join(directory, "ingest", encoded)
    NodeFs.mkdirSync(ingest, { recursive: true })
    NodeFs.writeFileSync(NodePath.join(ingest, "ref"), blob.digest)
    NodeFs.writeFileSync(NodePath.join(ingest, "data"), blob.bytes)
    NodeFs.mkdirSync(NodePath.dirname(target), { recursive: true })
    NodeFs.renameSync(NodePath.join(ingest, "data"), target)
    NodeFs.rmSync(ingest, { recursive: true, force: true })
  }
  const { digest, mediaType, size } = image.manifest
  return { mediaType, digest, size }
}

let puts = 0
let busy = 0
let errors = 0
let n = 0
while (puts < max && !NodeFs.existsSync(stopFile)) {
  const tag = `${prefix}-${n}`
  const { mediaType, digest, size } = descriptorFor(`${prefix}/${n}`)
  const descriptor: JsonObject = withBlobs ? writeBlobs(`${prefix}/${n}`) : { mediaType, digest, size }
  try {
    if (put(descriptor, tag) === "busy") {
      busy++
      sleepSync(Math.random() * busyPauseMs)
      continue
    }
    puts++
    writeJson({ type: "put", tag })
  } catch (error) {
    errors++
    writeJson({ type: "error", tag, message: error instanceof Error ? error.message : String(error) })
  }
  n++
  sleepSync(Math.random() * pauseMs)
}
writeJson({ type: "done", puts, busy, errors })
