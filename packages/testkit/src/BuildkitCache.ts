/**
 * BuildKit `--cache-to type=local,dest=<dir>` directories, generated as buildkit writes them (read from
 * moby/buildkit: cache/remotecache/export.go, cache/remotecache/v1/spec.go, cache/remotecache/local/local.go,
 * client/ociindex/ociindex.go), so tests need no committed binaries:
 *
 * - each export writes its layer blobs, a cache config (`application/vnd.buildkit.cacheconfig.v0`, the
 *   `CacheConfig` JSON of spec.go) and a root blob, through containerd's local content store (`ingest/`
 *   while in flight, then renamed into `blobs/sha256/`);
 * - the root is either a cache manifest (`image-manifest=true`, the default since buildkit 0.13): an OCI image
 *   manifest whose config is the cache config; or the older form, an image index whose `manifests` are the
 *   layer descriptors followed by the cache config's descriptor (no manifests at all);
 * - the client then puts the root into `index.json` with `ociindex.Tag(tag)` (buildkit's default tag is
 *   `latest`), so each entry carries `org.opencontainers.image.ref.name` only.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

export const cacheConfigMediaType = "application/vnd.buildkit.cacheconfig.v0"
export const layerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
export const manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
export const indexMediaType = "application/vnd.oci.image.index.v1+json"
/** With `oci-mediatypes=false` (which implies the older form), buildkit writes Docker media types. */
export const dockerLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
export const dockerManifestListMediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
export const refNameKey = "org.opencontainers.image.ref.name"

export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly annotations?: Record<string, string>
}

/** One export: `manifest` is the current form, `index` the older one. */
export interface Export {
  readonly form: "manifest" | "index"
  /** Docker media types (`oci-mediatypes=false`); the older form only, as buildkit allows. */
  readonly docker?: boolean
  /** Layer contents; the same content in two exports is one shared blob. */
  readonly layers: ReadonlyArray<string>
  /** index.json tag; buildkit's default is `latest`. */
  readonly tag: string
}

export interface CacheDirectory {
  /** Every file, by path relative to the cache directory. */
  readonly files: ReadonlyMap<string, Uint8Array>
  /** The index.json entry of each export, in order. */
  readonly entries: ReadonlyArray<Descriptor>
  /** Each export's blobs: digest to size, its root included. */
  readonly blobs: ReadonlyArray<ReadonlyMap<string, number>>
  /** The partial upload left in `ingest/`, which nothing may touch. */
  readonly ingest: ReadonlyArray<string>
}

const sha256 = (bytes: Uint8Array): string => `sha256:${NodeCrypto.createHash("sha256").update(bytes).digest("hex")}`
const utf8 = (text: string): Uint8Array => Buffer.from(text, "utf8")
const createdAt = "2026-01-02T03:04:05.123456789Z"

/** A cache directory holding `exports`, plus one upload in flight under `ingest/`. */
export const cacheDirectory = (exports: ReadonlyArray<Export>): CacheDirectory => {
  const files = new Map<string, Uint8Array>()
  const put = (bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Descriptor => {
    const digest = sha256(bytes)
    files.set(`blobs/sha256/${digest.slice("sha256:".length)}`, bytes)
    return { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) }
  }
  const entries: Array<Descriptor> = []
  const blobs: Array<ReadonlyMap<string, number>> = []
  for (const cacheExport of exports) {
    const layers = cacheExport.layers.map((content) => {
      const bytes = utf8(content)
      return put(bytes, cacheExport.docker ? dockerLayerMediaType : layerMediaType, {
        "buildkit/createdat": createdAt,
        "containerd.io/uncompressed": sha256(utf8(`uncompressed ${content}`))
      })
    })
    // spec.go's CacheConfig: layers chained by parent index (-1: none), one record per layer.
    const config = {
      layers: layers.map((layer, i) => ({
        blob: layer.digest,
        parent: i === 0 ? -1 : i - 1,
        annotations: {
          mediaType: layer.mediaType,
          diffID: layer.annotations?.["containerd.io/uncompressed"],
          size: layer.size,
          createdAt
        }
      })),
      records: layers.map((_, i) => ({
        digest: sha256(utf8(`${cacheExport.tag} record ${i}`)),
        layers: [{ layer: i, createdAt }],
        ...(i === 0 ? {} : { inputs: [[{ link: i - 1 }]] })
      }))
    }
    const configDescriptor = put(utf8(JSON.stringify(config)), cacheConfigMediaType)
    const listType = cacheExport.docker ? dockerManifestListMediaType : indexMediaType
    const root =
      cacheExport.form === "manifest"
        ? put(
            utf8(JSON.stringify({ schemaVersion: 2, mediaType: manifestMediaType, config: configDescriptor, layers })),
            manifestMediaType
          )
        : put(
            utf8(JSON.stringify({ schemaVersion: 2, mediaType: listType, manifests: [...layers, configDescriptor] })),
            listType
          )
    const reached = new Map<string, number>([
      [root.digest, root.size],
      [configDescriptor.digest, configDescriptor.size]
    ])
    for (const layer of layers) reached.set(layer.digest, layer.size)
    blobs.push(reached)
    // ociindex.insertDesc: a Tag replaces the entry with the same ref name, then appends.
    const entry = { ...root, annotations: { [refNameKey]: cacheExport.tag } }
    const same = entries.findIndex((existing) => existing.annotations?.[refNameKey] === cacheExport.tag)
    if (same !== -1) {
      entries.splice(same, 1)
      blobs.splice(same, 1)
    }
    entries.push(entry)
  }
  files.set("oci-layout", utf8(JSON.stringify({ imageLayoutVersion: "1.0.0" })))
  files.set("index.json", utf8(JSON.stringify({ schemaVersion: 2, mediaType: indexMediaType, manifests: entries })))
  // containerd's local store: ingest/<sha256 of the ref>/ with ref, startedat, updatedat, total and partial data.
  const ref = "local:export-in-flight"
  const ingestDir = `ingest/${NodeCrypto.createHash("sha256").update(ref).digest("hex")}`
  const ingest = [
    `${ingestDir}/ref`,
    `${ingestDir}/startedat`,
    `${ingestDir}/updatedat`,
    `${ingestDir}/total`,
    `${ingestDir}/data`
  ]
  files.set(`${ingestDir}/ref`, utf8(ref))
  files.set(`${ingestDir}/startedat`, utf8(createdAt))
  files.set(`${ingestDir}/updatedat`, utf8(createdAt))
  files.set(`${ingestDir}/total`, utf8("4096"))
  files.set(`${ingestDir}/data`, utf8("the first bytes of a layer still being written"))
  return { files, entries, blobs, ingest }
}

/** Writes the directory's files under `dir` on disk. */
export const writeCacheDirectory = (dir: string, cache: CacheDirectory): void => {
  for (const [path, bytes] of cache.files) {
    const file = NodePath.join(dir, path)
    NodeFs.mkdirSync(NodePath.dirname(file), { recursive: true })
    NodeFs.writeFileSync(file, bytes)
  }
}
