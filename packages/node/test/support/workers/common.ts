/**
 * What the child-process programs share: argument parsing, descriptors to put, and output that reaches the
 * parent even when the child is killed a moment later (written synchronously to fd 1).
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import type { DescriptorInput } from "@ocidx/core/Descriptor"
import type { NameOrTag } from "@ocidx/core/Reference"
import * as Reference from "@ocidx/core/Reference"
import * as Either from "effect/Either"

/** `--key value` pairs from the command line. */
export const parseArgs = (argv: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]
    const value = argv[i + 1]
    if (key?.startsWith("--") && value !== undefined) {
      args.set(key.slice(2), value)
      i++
    }
  }
  return args
}

export const requireArg = (args: ReadonlyMap<string, string>, key: string): string => {
  const value = args.get(key)
  if (value === undefined) throw new Error(`missing --${key}`)
  return value
}

export const intArg = (args: ReadonlyMap<string, string>, key: string, fallback: number): number => {
  const value = args.get(key)
  if (value === undefined) return fallback
  const parsed = Number.parseInt(value, 10)
  if (!Number.isFinite(parsed)) throw new Error(`--${key} must be an integer, got ${value}`)
  return parsed
}

/** Writes one line to stdout at once: a SIGKILL right after cannot lose it. */
export const writeLine = (line: string): void => {
  const bytes = Buffer.from(`${line}\n`, "utf8")
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += NodeFs.writeSync(1, bytes, offset)
    } catch (error) {
      // A full pipe on a non-blocking stdout: try again.
      if (error instanceof Error && "code" in error && error.code === "EAGAIN") continue
      throw error
    }
  }
}

export const writeJson = (value: unknown): void => writeLine(JSON.stringify(value))

export const manifestMediaType = "application/vnd.oci.image.manifest.v1+json"

/** A manifest descriptor whose digest is derived from `seed`, so every put writes something new. */
export const descriptorFor = (seed: string): DescriptorInput => ({
  mediaType: manifestMediaType,
  digest: `sha256:${NodeCrypto.createHash("sha256").update(seed).digest("hex")}`,
  size: 1000 + (seed.length % 97)
})

/** A small real image for `seed`: its config, layer and manifest blobs, and the manifest's descriptor. */
export const imageFor = (
  seed: string
): {
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly bytes: Buffer }>
  readonly manifest: DescriptorInput
} => {
  const blob = (mediaType: string, text: string) => {
    const bytes = Buffer.from(text, "utf8")
    const digest = `sha256:${NodeCrypto.createHash("sha256").update(bytes).digest("hex")}`
    return { mediaType, digest, size: bytes.length, bytes }
  }
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed })
  )
  const layer = blob("application/vnd.oci.image.layer.v1.tar", `the layer of ${seed}\n`.repeat(20))
  const describe = ({ digest, mediaType, size }: { digest: string; mediaType: string; size: number }) => ({
    mediaType,
    digest,
    size
  })
  const manifest = blob(
    manifestMediaType,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: describe(config),
      layers: [describe(layer)]
    })
  )
  return { blobs: [config, layer, manifest], manifest: describe(manifest) }
}

export const tagOf = (value: string): NameOrTag =>
  Either.getOrThrowWith(Reference.tag(value), (error) => new Error(error.problem))

/** Blocks this thread for `millis` (the synchronous programs have no event loop to wait on). */
export const sleepSync = (millis: number): void => {
  if (millis > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, millis)
}
