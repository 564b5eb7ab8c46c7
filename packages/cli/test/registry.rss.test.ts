/**
 * `ocidx push` and `pull` stream: with a 256 MiB layer against a real registry (docker-registry, no auth),
 * the CLI's peak RSS stays within PeakRss.streamingBudgetMiB of an `ls` of the same layout on the same node,
 * and skopeo sees the same digest. (The 1 GiB run, timed against skopeo, with the absolute RSS target, is the
 * bench's.) Linux only (peak RSS from /proc); skipped, with a message, where
 * docker-registry, htpasswd, openssl or skopeo is missing.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as PeakRss from "@ocidx/testkit/PeakRss"
import { runOk } from "@ocidx/testkit/Processes"
import * as Registry from "@ocidx/testkit/Registry"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import { configType, indexType, layerType, manifestType, sha256 } from "./support/layout.js"
import { blobFile, credentialEnv, entryOf, spawnOcidx } from "./support/registry.js"

const skip =
  Registry.unavailable ??
  missing(["skopeo", skopeoPath]) ??
  (PeakRss.available ? undefined : "no /proc to read peak RSS from")
announceSkip("the registry RSS test", skip)

const mib = 1024 * 1024
const layerSize = 256 * mib

/** A layout `<dir>/big` holding `v1`: a manifest with one `layerSize` layer of random bytes, written in chunks. */
const bigImage = (dir: string) =>
  Effect.sync(() => {
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
    NodeFs.renameSync(temp, blobFile(layout, layer.digest))
    const write = (bytes: string, mediaType: string) => {
      const descriptor = { mediaType, digest: sha256(bytes), size: Buffer.byteLength(bytes) }
      NodeFs.writeFileSync(blobFile(layout, descriptor.digest), bytes)
      return descriptor
    }
    const config = write(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [layer.digest] }
      }),
      configType
    )
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
  })

/** Runs `ocidx ...args` to its end, reading its peak RSS as it goes. */
const peakRss = (env: Readonly<Record<string, string | undefined>>, args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.flatMap(spawnOcidx(env, args), PeakRss.sample))

describe.skipIf(skip !== undefined)("ocidx's memory against a real registry", () => {
  it.scopedLive("push and pull of a 256 MiB layer grow the RSS by less than the layer", () =>
    Effect.gen(function* () {
      const registry = yield* Registry.make({ auth: "none" })
      const dir = yield* tempDir
      const image = yield* bigImage(dir)
      const env = credentialEnv(dir)
      const ref = `${registry.host}/rss/big:v1`
      const idle = yield* peakRss(env, ["ls", image.layout])
      expect(idle.code, idle.stderr).toBe(0)
      expect(idle.peakMiB).toBeGreaterThan(0)
      const budget = idle.peakMiB + PeakRss.streamingBudgetMiB

      const pushed = yield* peakRss(env, ["push", `${image.layout}:v1`, ref])
      expect(pushed.code, pushed.stderr).toBe(0)
      expect(pushed.peakMiB).toBeLessThan(budget)
      const inspected = JSON.parse(
        yield* runOk(skopeoPath ?? "skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`])
      )
      expect(inspected.Digest).toBe(image.manifest.digest)

      const out = NodePath.join(dir, "out")
      const pulled = yield* peakRss(env, ["pull", ref, `${out}:v1`])
      expect(pulled.code, pulled.stderr).toBe(0)
      expect(pulled.peakMiB).toBeLessThan(budget)
      expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
    })
  )
})
