/**
 * Layouts for tests, written directly on disk (no ocidx involved, so a fixture cannot hide an ocidx bug) in a
 * `tempDir` of `@ocidx/testkit/TempDir`, and a snapshot of a directory's every file to prove a command changed nothing.
 */
import * as Crypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

export const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

export const manifestType = "application/vnd.oci.image.manifest.v1+json"
export const indexType = "application/vnd.oci.image.index.v1+json"
export const configType = "application/vnd.oci.image.config.v1+json"
export const layerType = "application/vnd.oci.image.layer.v1.tar"

export interface BlobDescriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

/** Writes a blob under `blobs/sha256/` and returns its descriptor. */
export const writeBlob = (dir: string, content: string | Uint8Array, mediaType: string): BlobDescriptor => {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)
  const digest = sha256(bytes)
  const blobDir = NodePath.join(dir, "blobs", "sha256")
  NodeFs.mkdirSync(blobDir, { recursive: true })
  NodeFs.writeFileSync(NodePath.join(blobDir, digest.slice("sha256:".length)), bytes)
  return { mediaType, digest, size: bytes.length }
}

export const blobPath = (dir: string, digest: string): string => NodePath.join(dir, "blobs", ...digest.split(":"))

export interface Image {
  readonly manifest: BlobDescriptor
  readonly config: BlobDescriptor
  readonly layer: BlobDescriptor
  readonly manifestBytes: string
}

/** A config, a (fake) layer and a manifest for `architecture`, as blobs. */
export const writeImage = (dir: string, architecture = "amd64", marker = "layer"): Image => {
  const layer = writeBlob(dir, `${marker} for ${architecture}`, layerType)
  const config = writeBlob(
    dir,
    JSON.stringify({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } }),
    configType
  )
  const manifestBytes = JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config, layers: [layer] })
  const manifest = writeBlob(dir, manifestBytes, manifestType)
  return { manifest, config, layer, manifestBytes }
}

/** An image layout: oci-layout, index.json with `entries`, blobs/. */
export const writeLayout = (dir: string, entries: ReadonlyArray<unknown> = [], extra: Record<string, unknown> = {}) => {
  NodeFs.mkdirSync(NodePath.join(dir, "blobs", "sha256"), { recursive: true })
  NodeFs.writeFileSync(NodePath.join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}')
  writeIndex(dir, { schemaVersion: 2, mediaType: indexType, manifests: entries, ...extra })
}

export const writeIndex = (dir: string, index: unknown) =>
  NodeFs.writeFileSync(NodePath.join(dir, "index.json"), JSON.stringify(index))

export const readIndex = (dir: string): { readonly manifests: ReadonlyArray<Record<string, unknown>> } =>
  JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8"))

export const tagged = (descriptor: BlobDescriptor, tag: string, extra: Record<string, unknown> = {}) => ({
  ...descriptor,
  annotations: { "org.opencontainers.image.ref.name": tag },
  ...extra
})

/** A layout with one tagged image (`v1`, linux/amd64) and its blobs. */
export const writeTaggedImage = (dir: string, tag = "v1") => {
  const image = writeImage(dir)
  writeLayout(dir, [tagged(image.manifest, tag, { platform: { architecture: "amd64", os: "linux" } })])
  return image
}

/**
 * Every file and directory under `dir` with its content hash and mode, except `index.json.lock`: the lock
 * protocol creates that file (empty) on first use, and never changes or deletes it.
 */
export const snapshot = (dir: string): Record<string, string> => {
  const result: Record<string, string> = {}
  const walk = (path: string, relative: string) => {
    const info = NodeFs.lstatSync(path)
    const mode = (info.mode & 0o7777).toString(8)
    if (info.isDirectory()) {
      result[`${relative}/`] = `dir ${mode}`
      for (const name of NodeFs.readdirSync(path).sort()) walk(NodePath.join(path, name), `${relative}/${name}`)
    } else if (relative !== "/index.json.lock") {
      result[relative] = info.isFile() ? `${sha256(NodeFs.readFileSync(path))} ${mode}` : `special ${mode}`
    }
  }
  walk(dir, "")
  return result
}
