/**
 * Export and import of a 256 MiB image keep the CLI's peak RSS flat (under 200 MiB), plain and gzip, and
 * the import verifies clean. (The 1 GiB run, timed against skopeo, belongs to the bench.) Linux only (peak
 * RSS from /proc); skipped, with a message, elsewhere.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeZlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import { binPath, ocidxExpect } from "./support/cli.js"
import { blobPath, configType, indexType, layerType, manifestType, sha256 } from "./support/layout.js"

const skip = NodeFs.existsSync("/proc/self/status") ? undefined : "no /proc to read peak RSS from"
announceSkip("the archive RSS test", skip)

const mib = 1024 * 1024
const layerSize = 256 * mib

/** A layout `<dir>/big` holding `v1`: one `layerSize` layer of random bytes, written in chunks. */
const bigImage = (dir: string) => {
  const layout = NodePath.join(dir, "big")
  NodeFs.mkdirSync(NodePath.join(layout, "blobs", "sha256"), { recursive: true })
  NodeFs.writeFileSync(NodePath.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  const temp = NodePath.join(layout, "layer.tmp")
  const fd = NodeFs.openSync(temp, "w")
  const hash = NodeCrypto.createHash("sha256")
  for (let written = 0; written < layerSize; written += mib) {
    const chunk = NodeCrypto.randomBytes(mib)
    hash.update(chunk)
    NodeFs.writeSync(fd, chunk)
  }
  NodeFs.closeSync(fd)
  const layer = { mediaType: layerType, digest: `sha256:${hash.digest("hex")}`, size: layerSize }
  NodeFs.renameSync(temp, blobPath(layout, layer.digest))
  const write = (bytes: string, mediaType: string) => {
    const descriptor = { mediaType, digest: sha256(bytes), size: Buffer.byteLength(bytes) }
    NodeFs.writeFileSync(blobPath(layout, descriptor.digest), bytes)
    return descriptor
  }
  const config = write(JSON.stringify({ architecture: "amd64", os: "linux" }), configType)
  const manifest = write(
    JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config, layers: [layer] }),
    manifestType
  )
  NodeFs.writeFileSync(
    NodePath.join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "v1" } }]
    })
  )
  return { layout, manifest }
}

/** Runs `ocidx ...args` to its end, reading its peak RSS (VmHWM) from /proc as it goes. */
const peakRss = (args: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const child = yield* spawn(process.execPath, [binPath, ...args])
      let peak = 0
      while (!(yield* child.hasExited)) {
        try {
          const match = /VmHWM:\s+(\d+) kB/.exec(NodeFs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
          if (match?.[1] !== undefined) peak = Math.max(peak, Number(match[1]) / 1024)
        } catch {
          // Exited between the check and the read.
        }
        yield* Effect.sleep("50 millis")
      }
      const result = yield* child.result
      return { ...result, peakMiB: peak }
    })
  )

describe.skipIf(skip !== undefined)("archives of a 256 MiB image", () => {
  it.scopedLive(
    "export and import (plain and gzip) stay under 200 MiB of RSS",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = bigImage(dir)
        const archive = NodePath.join(dir, "big.tar")
        const exported = yield* peakRss(["export", `${image.layout}:v1`, archive])
        expect(exported.code, exported.stderr).toBe(0)
        expect(exported.peakMiB).toBeGreaterThan(0)
        expect(exported.peakMiB).toBeLessThan(200)

        const imported = yield* peakRss(["import", archive, NodePath.join(dir, "imported")])
        expect(imported.code, imported.stderr).toBe(0)
        expect(imported.peakMiB).toBeLessThan(200)
        yield* ocidxExpect(0, ["verify", NodePath.join(dir, "imported")])

        // Random bytes barely compress: fast level, the point is the inflate path.
        const gz = `${archive}.gz`
        yield* Effect.promise(
          () =>
            new Promise<void>((resolve, reject) =>
              NodeFs.createReadStream(archive)
                .pipe(NodeZlib.createGzip({ level: 1 }))
                .pipe(NodeFs.createWriteStream(gz))
                .on("finish", () => resolve())
                .on("error", reject)
            )
        )
        NodeFs.rmSync(archive)
        const gunzipped = yield* peakRss(["import", gz, NodePath.join(dir, "from-gzip")])
        expect(gunzipped.code, gunzipped.stderr).toBe(0)
        expect(gunzipped.peakMiB).toBeLessThan(200)
        expect(gunzipped.stdout).toContain(image.manifest.digest)
      }),
    240_000
  )
})
