/**
 * The layouts and files the benchmarks work on, made with random content: image layouts built by umoci (or,
 * when umoci is missing, by writing the same kind of blobs directly), thousands of tags added through ocidx's
 * library in one `modify`, layouts of N small blobs with some garbage, and large random files.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Descriptor } from "@ocidx/core/Descriptor"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as Reference from "@ocidx/core/Reference"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import { Effect, Either, Schema } from "effect"
import { MiB, runChecked, which } from "./support.js"

export const manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
export const configMediaType = "application/vnd.oci.image.config.v1+json"
export const layerMediaType = "application/vnd.oci.image.layer.v1.tar"

export interface BlobDescriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

const decodeDescriptor = Schema.decodeUnknownSync(Descriptor)

export const tagOf = (value: string): Reference.NameOrTag =>
  Either.getOrThrowWith(Reference.tag(value), (error) => new Error(error.problem))

/** Writes `bytes` of random content to `file`, 16 MiB at a time. */
export const writeRandomFile = (file: string, bytes: number): void => {
  const chunk = Buffer.allocUnsafe(Math.min(bytes, 16 * MiB))
  const fd = NodeFs.openSync(file, "w", 0o644)
  try {
    for (let written = 0; written < bytes; ) {
      const length = Math.min(chunk.length, bytes - written)
      NodeCrypto.randomFillSync(chunk, 0, length)
      NodeFs.writeSync(fd, chunk, 0, length)
      written += length
    }
  } finally {
    NodeFs.closeSync(fd)
  }
}

/** A one-file ustar archive holding `content` as `name`. */
export const tarOf = (name: string, content: Uint8Array): Buffer => {
  const header = Buffer.alloc(512)
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "ascii")
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0")
  put(name, 0, 100)
  put(octal(0o644, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  put(octal(content.length, 12), 124, 12)
  put(octal(0, 12), 136, 12)
  put("        ", 148, 8)
  put("0", 156, 1)
  put("ustar\u000000", 257, 8)
  let sum = 0
  for (const byte of header) sum += byte
  put(`${octal(sum, 7)}\u0000`, 148, 8)
  const padding = (512 - (content.length % 512)) % 512
  return Buffer.concat([header, content, Buffer.alloc(padding), Buffer.alloc(1024)])
}

const sha256 = (bytes: Uint8Array): string => NodeCrypto.createHash("sha256").update(bytes).digest("hex")

/** Writes `bytes` as a blob of the layout at `dir` (no fsync: a fixture) and returns its descriptor. */
export const writeBlob = (dir: string, mediaType: string, bytes: Uint8Array, into?: string): BlobDescriptor => {
  const hex = sha256(bytes)
  const blobsDir = into ?? NodePath.join(dir, "blobs", "sha256")
  NodeFs.mkdirSync(blobsDir, { recursive: true })
  NodeFs.writeFileSync(NodePath.join(blobsDir, hex), bytes, { mode: 0o644 })
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length }
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))

/** A config and a manifest for `layers`, written as blobs; returns the manifest's descriptor. */
export const writeImage = (dir: string, layers: ReadonlyArray<BlobDescriptor>): BlobDescriptor => {
  const config = writeBlob(
    dir,
    configMediaType,
    json({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.digest) }
    })
  )
  return writeBlob(dir, manifestMediaType, json({ schemaVersion: 2, mediaType: manifestMediaType, config, layers }))
}

const runLibrary = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeServices.layer({ durability: "full" }))))

/** Adds tags `<prefix>-0` ... `<prefix>-<count-1>` for `manifest` with one `modify` (one lock, one write). */
export const addTags = (
  dir: string,
  manifest: BlobDescriptor,
  count: number,
  prefix: string,
  eachOwnDigest = false
): Promise<void> =>
  runLibrary(
    Effect.gen(function* () {
      const store = yield* StoreIndex.make({ directory: dir })
      const shared = decodeDescriptor(manifest)
      const requests = Array.from({ length: count }, (_, i) => ({
        descriptor: eachOwnDigest
          ? decodeDescriptor({ ...manifest, digest: `sha256:${sha256(Buffer.from(`${prefix}/${i}`))}` })
          : shared,
        names: [tagOf(`${prefix}-${i}`)]
      }))
      yield* store.modify((index) => Effect.succeed([undefined, ImageIndex.putAll(index, requests).index] as const))
    })
  )

/** Tags each manifest with its own tag `<prefix>-<i>`, in one `modify`. */
export const tagEach = (dir: string, manifests: ReadonlyArray<BlobDescriptor>, prefix: string): Promise<void> =>
  runLibrary(
    Effect.gen(function* () {
      const store = yield* StoreIndex.make({ directory: dir })
      const requests = manifests.map((manifest, i) => ({
        descriptor: decodeDescriptor(manifest),
        names: [tagOf(`${prefix}-${i}`)]
      }))
      yield* store.modify((index) => Effect.succeed([undefined, ImageIndex.putAll(index, requests).index] as const))
    })
  )

export const umoci = which("umoci")

/** The manifest descriptor tagged `tag` in the layout's index.json. */
const taggedManifest = (dir: string, tag: string): BlobDescriptor => {
  const index: unknown = JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8"))
  if (typeof index !== "object" || index === null || !("manifests" in index) || !Array.isArray(index.manifests)) {
    throw new Error(`${dir}/index.json has no manifests`)
  }
  for (const entry of index.manifests) {
    if (entry?.annotations?.["org.opencontainers.image.ref.name"] === tag) {
      return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size }
    }
  }
  throw new Error(`${dir}/index.json has no entry tagged ${tag}`)
}

/**
 * An image layout tagged `base`, with `layers` layers of `layerBytes` random bytes each: built by umoci (init,
 * new, raw add-layer) when it is installed, else written directly. Returns the manifest's descriptor and who
 * built it.
 */
export const makeImageLayout = (
  dir: string,
  options: { readonly layers: number; readonly layerBytes: number }
): { readonly manifest: BlobDescriptor; readonly builtBy: "umoci" | "ocidx" } => {
  const scratch = `${dir}.layers`
  NodeFs.mkdirSync(scratch, { recursive: true })
  try {
    const contents = Array.from({ length: options.layers }, (_, i) => {
      const file = NodePath.join(scratch, `layer-${i}.bin`)
      writeRandomFile(file, options.layerBytes)
      return file
    })
    if (umoci !== undefined) {
      runChecked(umoci, ["init", "--layout", dir])
      runChecked(umoci, ["new", "--image", `${dir}:base`])
      for (const [i, file] of contents.entries()) {
        const tar = NodePath.join(scratch, `layer-${i}.tar`)
        NodeFs.writeFileSync(tar, tarOf(`data-${i}`, NodeFs.readFileSync(file)))
        runChecked(umoci, ["raw", "add-layer", "--image", `${dir}:base`, tar])
        NodeFs.rmSync(tar)
      }
      return { manifest: taggedManifest(dir, "base"), builtBy: "umoci" }
    }
    NodeFs.mkdirSync(NodePath.join(dir, "blobs", "sha256"), { recursive: true })
    NodeFs.writeFileSync(NodePath.join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}')
    const layers = contents.map((file, i) =>
      writeBlob(dir, layerMediaType, tarOf(`data-${i}`, NodeFs.readFileSync(file)))
    )
    const manifest = writeImage(dir, layers)
    return { manifest, builtBy: "ocidx" }
  } finally {
    NodeFs.rmSync(scratch, { recursive: true, force: true })
  }
}

/** Random unreferenced blobs kept beside a layout; `relink` hard-links them into blobs/sha256 (e.g. after a gc). */
export const addGarbage = (dir: string, count: number): { readonly relink: () => void } => {
  const blobsDir = NodePath.join(dir, "blobs", "sha256")
  const garbageDir = `${dir}.garbage`
  NodeFs.mkdirSync(garbageDir, { recursive: true })
  const names = Array.from({ length: count }, () => {
    const bytes = NodeCrypto.randomBytes(1024 + NodeCrypto.randomInt(7168))
    // Written moments ago: every gc in the bench runs with no grace period (`--grace 0`) to take it.
    return writeBlob(dir, layerMediaType, bytes, garbageDir).digest.slice("sha256:".length)
  })
  const relink = () => {
    for (const name of names) {
      try {
        NodeFs.linkSync(NodePath.join(garbageDir, name), NodePath.join(blobsDir, name))
      } catch (error) {
        if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error
      }
    }
  }
  relink()
  return { relink }
}

export interface BlobLayout {
  readonly dir: string
  /** Blob files in blobs/sha256 while the garbage is linked in. */
  readonly blobs: number
  readonly reachable: number
  readonly garbage: number
  /** Hard-links the garbage blobs (kept beside the layout) back into blobs/sha256, e.g. after a gc. */
  readonly relinkGarbage: () => void
}

/**
 * A layout of `blobs` small blobs: images of a manifest, a config and two random layers (1 to 8 KiB), each
 * tagged, make up about 90% of them; the rest are unreferenced random blobs (see `addGarbage`).
 */
export const makeBlobLayout = async (dir: string, blobs: number): Promise<BlobLayout> => {
  NodeFs.mkdirSync(NodePath.join(dir, "blobs", "sha256"), { recursive: true })
  NodeFs.writeFileSync(NodePath.join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}')
  const images = Math.floor((blobs * 0.9) / 4)
  const randomLayer = () => writeBlob(dir, layerMediaType, NodeCrypto.randomBytes(1024 + NodeCrypto.randomInt(7168)))
  const manifests = Array.from({ length: images }, () => writeImage(dir, [randomLayer(), randomLayer()]))
  await tagEach(dir, manifests, "image")
  const garbage = blobs - images * 4
  const { relink } = addGarbage(dir, garbage)
  return { dir, blobs: images * 4 + garbage, reachable: images * 4, garbage, relinkGarbage: relink }
}

/** The blob files of a layout, for sha256sum. */
export const blobFiles = (dir: string): Array<string> => {
  const files: Array<string> = []
  const blobsDir = NodePath.join(dir, "blobs")
  for (const alg of NodeFs.readdirSync(blobsDir)) {
    const algDir = NodePath.join(blobsDir, alg)
    if (!NodeFs.statSync(algDir).isDirectory()) continue
    for (const name of NodeFs.readdirSync(algDir)) files.push(NodePath.join(algDir, name))
  }
  return files
}

/** Saves a file's bytes and mode; `restore` puts them back (outside the timed part of a repetition). */
export const snapshotFile = (file: string): { readonly restore: () => void } => {
  const bytes = NodeFs.readFileSync(file)
  const mode = NodeFs.statSync(file).mode & 0o7777
  return {
    restore: () => {
      NodeFs.writeFileSync(file, bytes)
      NodeFs.chmodSync(file, mode)
    }
  }
}

export const sha256sum = which("sha256sum")
const xargs = which("xargs")
const sh = which("sh")

export interface Command {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd?: string
}

/**
 * sha256sum over every blob of a layout: one process, and two processes at once (one per core) over halves of
 * equal bytes. They run in blobs/sha256 with bare names, so 10,000 names fit on one command line; the halves
 * are written as NUL-separated lists beside the layout.
 */
export const hashAllCommands = (dir: string): { readonly single?: Command; readonly parallel?: Command } => {
  if (sha256sum === undefined) return {}
  const cwd = NodePath.join(dir, "blobs", "sha256")
  const names = NodeFs.readdirSync(cwd)
  const single = { command: sha256sum, args: names, cwd }
  if (xargs === undefined || sh === undefined) return { single }
  const sized = names.map((name) => ({ name, size: NodeFs.statSync(NodePath.join(cwd, name)).size }))
  sized.sort((a, b) => b.size - a.size)
  const halves: [Array<string>, Array<string>] = [[], []]
  const bytes = [0, 0]
  for (const { name, size } of sized) {
    const side = (bytes[0] ?? 0) <= (bytes[1] ?? 0) ? 0 : 1
    halves[side].push(name)
    bytes[side] = (bytes[side] ?? 0) + size
  }
  const lists = halves.map((half, i) => {
    const file = `${dir}.sha256sum-${i}`
    NodeFs.writeFileSync(file, half.join("\u0000"))
    return file
  })
  const parallel = {
    command: sh,
    args: [
      "-c",
      `"$1" -r -0 -a "$2" "$4" >/dev/null & "$1" -r -0 -a "$3" "$4" >/dev/null & wait`,
      "sh",
      xargs,
      lists[0] ?? "",
      lists[1] ?? "",
      sha256sum
    ],
    cwd
  }
  return { single, parallel }
}
