/**
 * A layout holding one image with one large layer of deterministic pseudo-random bytes, for the groups that
 * move a whole image (registry, archive). The layer is either a plain tar (typed `tar`) or that tar wrapped
 * in stored (uncompressed) gzip blocks (typed `tar+gzip`): which one makes a comparison with skopeo fair
 * depends on the destination, since skopeo gzips an uncompressed layer on its way to a registry and
 * decompresses a compressed one on its way into a docker-archive.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeZlib from "node:zlib"
import {
  type BlobDescriptor,
  configMediaType,
  layerMediaType,
  manifestMediaType,
  tagEach,
  writeBlob
} from "./fixtures.js"
import { MiB } from "./support.js"

export const gzipLayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"

/**
 * Deterministic bytes that no tool here can shrink: a 1 MiB block of sha256 output in counter mode, each MiB
 * rotated by its own offset and led by the hash of its index.
 */
const pseudoRandomMiB = (() => {
  const base = Buffer.alloc(MiB)
  for (let i = 0; i < MiB / 32; i++) {
    NodeCrypto.createHash("sha256")
      .update(`ocidx-bench-registry/${i}`)
      .digest()
      .copy(base, i * 32)
  }
  return (index: number, into: Buffer): void => {
    const offset = ((index * 7919) % (MiB / 64)) * 64
    base.copy(into, 0, offset)
    base.copy(into, MiB - offset, 0, offset)
    NodeCrypto.createHash("sha256").update(`mib/${index}`).digest().copy(into, 0)
  }
})()

const tarHeader = (name: string, size: number): Buffer => {
  const header = Buffer.alloc(512)
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "ascii")
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0")
  put(name, 0, 100)
  put(octal(0o644, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  put(octal(size, 12), 124, 12)
  put(octal(0, 12), 136, 12)
  put("        ", 148, 8)
  put("0", 156, 1)
  put("ustar\u000000", 257, 8)
  let sum = 0
  for (const byte of header) sum += byte
  put(`${octal(sum, 7)}\u0000`, 148, 8)
  return header
}

/**
 * Writes a layer holding one file of `bytes` pseudo-random bytes into the layout at `dir` and returns its
 * descriptor and the digest of the tar (the config's diff_id). With `gzip`, the gzip stream is made by hand
 * from stored deflate blocks, so writing 1 GiB costs about as much as hashing it.
 */
export const writeLayer = (
  dir: string,
  bytes: number,
  gzip: boolean
): { readonly layer: BlobDescriptor; readonly diffId: string } => {
  const blobsDir = NodePath.join(dir, "blobs", "sha256")
  NodeFs.mkdirSync(blobsDir, { recursive: true })
  const temp = NodePath.join(dir, "layer.tmp")
  const fd = NodeFs.openSync(temp, "w", 0o644)
  const blobHash = NodeCrypto.createHash("sha256")
  const tarHash = NodeCrypto.createHash("sha256")
  let crc = 0
  let tarLength = 0
  let size = 0
  const out = (chunk: Buffer) => {
    blobHash.update(chunk)
    NodeFs.writeSync(fd, chunk)
    size += chunk.length
  }
  const maxStored = 65535
  // Writes `data` (tar bytes), framed as stored deflate blocks when gzipped; `last` marks the final one.
  const tar = (data: Buffer, last: boolean) => {
    tarHash.update(data)
    tarLength += data.length
    if (!gzip) {
      out(data)
      return
    }
    crc = NodeZlib.crc32(data, crc)
    const blocks = Math.max(1, Math.ceil(data.length / maxStored))
    const framed = Buffer.allocUnsafe(data.length + blocks * 5)
    let at = 0
    for (let b = 0; b < blocks; b++) {
      const piece = data.subarray(b * maxStored, Math.min(data.length, (b + 1) * maxStored))
      framed[at] = last && b === blocks - 1 ? 1 : 0
      framed.writeUInt16LE(piece.length, at + 1)
      framed.writeUInt16LE(~piece.length & 0xffff, at + 3)
      piece.copy(framed, at + 5)
      at += 5 + piece.length
    }
    out(framed.subarray(0, at))
  }
  try {
    if (gzip) out(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]))
    tar(tarHeader("data.bin", bytes), false)
    const mib = Buffer.allocUnsafe(MiB)
    for (let written = 0; written < bytes; written += MiB) {
      pseudoRandomMiB(written / MiB, mib)
      tar(mib.subarray(0, Math.min(MiB, bytes - written)), false)
    }
    tar(Buffer.alloc(((512 - (bytes % 512)) % 512) + 1024), true)
    if (gzip) {
      const trailer = Buffer.alloc(8)
      trailer.writeUInt32LE(crc >>> 0, 0)
      trailer.writeUInt32LE(tarLength % 2 ** 32, 4)
      out(trailer)
    }
  } finally {
    NodeFs.closeSync(fd)
  }
  const hex = blobHash.digest("hex")
  NodeFs.renameSync(temp, NodePath.join(blobsDir, hex))
  return {
    layer: { mediaType: gzip ? gzipLayerMediaType : layerMediaType, digest: `sha256:${hex}`, size },
    diffId: `sha256:${tarHash.digest("hex")}`
  }
}

/** A layout tagged `bench-0` holding one image: a config and one layer of `bytes` (see writeLayer). */
export const makeBigImage = async (
  dir: string,
  bytes: number,
  options: { readonly gzip: boolean }
): Promise<{ readonly manifest: BlobDescriptor; readonly config: BlobDescriptor; readonly layer: BlobDescriptor }> => {
  NodeFs.mkdirSync(dir, { recursive: true })
  NodeFs.writeFileSync(NodePath.join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}')
  const { diffId, layer } = writeLayer(dir, bytes, options.gzip)
  const config = writeBlob(
    dir,
    configMediaType,
    Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } })
    )
  )
  const manifest = writeBlob(
    dir,
    manifestMediaType,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestMediaType, config, layers: [layer] }))
  )
  await tagEach(dir, [manifest], "bench")
  return { manifest, config, layer }
}
