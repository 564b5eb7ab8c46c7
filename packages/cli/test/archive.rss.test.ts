/**
 * Export and import of a 256 MiB image stream: the CLI's peak RSS stays within PeakRss.streamingBudgetMiB
 * of an `ls` of the same layout on the same node, plain and gzip, and the import verifies clean. (The 1 GiB run, timed against skopeo, belongs to the bench.) Linux only (peak
 * RSS from /proc); skipped, with a message, elsewhere.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeZlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import * as PeakRss from "@ocidx/testkit/PeakRss"
import { spawn } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import { binPath, ocidxExpect } from "./support/cli.js"
import { blobPath, configType, indexType, layerType, manifestType, sha256 } from "./support/layout.js"

const skip = PeakRss.available ? undefined : "no /proc to read peak RSS from"
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

/** Runs `ocidx ...args` to its end, reading its peak RSS as it goes. */
const peakRss = (args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.flatMap(spawn(process.execPath, [binPath, ...args]), PeakRss.sample))

describe.skipIf(skip !== undefined)("archives of a 256 MiB image", () => {
  it.scopedLive(
    "export and import (plain and gzip) grow the RSS by less than the layer",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = bigImage(dir)
        const archive = NodePath.join(dir, "big.tar")
        const idle = yield* peakRss(["ls", image.layout])
        expect(idle.code, idle.stderr).toBe(0)
        expect(idle.peakMiB).toBeGreaterThan(0)
        const budget = idle.peakMiB + PeakRss.streamingBudgetMiB
        const exported = yield* peakRss(["export", `${image.layout}:v1`, archive])
        expect(exported.code, exported.stderr).toBe(0)
        expect(exported.peakMiB).toBeLessThan(budget)

        const imported = yield* peakRss(["import", archive, NodePath.join(dir, "imported")])
        expect(imported.code, imported.stderr).toBe(0)
        expect(imported.peakMiB).toBeLessThan(budget)
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
        expect(gunzipped.peakMiB).toBeLessThan(budget)
        expect(gunzipped.stdout).toContain(image.manifest.digest)
      }),
    240_000
  )
})
