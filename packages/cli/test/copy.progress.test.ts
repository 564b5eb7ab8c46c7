/**
 * What `ocidx copy` prints around the engine, in this process on the in-memory layers: per-blob progress on
 * standard error only when it is a terminal, and on standard output only the summary or the JSON.
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import { describe, expect, it } from "@effect/vitest"
import * as Copy from "@ocidx/core/Copy"
import type { Hasher } from "@ocidx/core/Hasher"
import type { IndexLock } from "@ocidx/core/IndexLock"
import * as Layout from "@ocidx/core/Layout"
import type { RegistryClient } from "@ocidx/core/RegistryClient"
import * as testing from "@ocidx/core/testing"
import { Effect, Layer, Stream } from "effect"
import * as Cli from "../src/Cli.js"
import { Copier } from "../src/Copier.js"
import { Stdio } from "../src/Stdio.js"
import { Store } from "../src/Store.js"

const layer = (content: string) => new TextEncoder().encode(content)

/** `ocidx ...args` with a layout `/src` tagged v1 (one config, two layers), on the in-memory layers. */
const run = (args: ReadonlyArray<string>, errIsTTY: boolean) =>
  Effect.gen(function* () {
    let stdout = ""
    let stderr = ""
    const stdio: Stdio = {
      out: (chunk) =>
        Effect.sync(() => {
          stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)
        }),
      err: (text) =>
        Effect.sync(() => {
          stderr += text
        }),
      stdin: Stream.empty,
      readInOrder: () => Stream.die("copies read no special file"),
      errIsTTY,
      outColors: false,
      errColors: false
    }
    const memory = yield* Effect.context<FileSystem | Path | IndexLock | Hasher | RegistryClient>()
    const source = yield* Layout.make({ directory: "/src" })
    yield* source.init
    const blobs = yield* Effect.forEach(["config", "first layer", "second layer"], (text) =>
      source.blobs.put(layer(text))
    )
    const [config, ...layers] = blobs
    const manifest = yield* source.blobs.put(
      layer(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
          layers: layers.map((info) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...info }))
        })
      )
    )
    yield* source.index.put({ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest }, [])
    const copier: Copier = {
      copy: (from, to, options) => Effect.provide(Copy.copy(from, to, options), memory)
    }
    const store: Store = { layout: (directory) => Effect.provide(Layout.make({ directory }), memory) }
    const code = yield* Cli.run(["node", "ocidx", ...args]).pipe(
      Effect.provideService(Stdio, stdio),
      Effect.provideService(Store, store),
      Effect.provideService(Copier, copier),
      Effect.provide(NodeTerminal.layer)
    )
    return { code, stdout, stderr, manifest }
  }).pipe(Effect.provide(Layer.fresh(Layer.merge(testing.layer(), testing.layerRegistryClient()))))

describe("ocidx copy: what goes where", () => {
  it.effect("on a terminal, per-blob progress on stderr, cleared at the end; the summary alone on stdout", () =>
    Effect.gen(function* () {
      const { code, stdout, stderr, manifest } = yield* run(["copy", "oci:/src", "oci:/dst:v1", "--jobs", "1"], true)
      expect(code).toBe(0)
      expect(stdout).toBe(`copied 4 blobs (${manifest.size + 6 + 11 + 12} B), skipped 0; ${manifest.digest}\n`)
      expect(stderr).toContain("blobs done; sha256:")
      expect(stderr.endsWith("\r\u001b[K")).toBe(true)
    })
  )

  it.effect("off a terminal, nothing on stderr; --json is one document on stdout", () =>
    Effect.gen(function* () {
      const { code, stdout, stderr, manifest } = yield* run(["copy", "oci:/src", "oci:/dst:v1", "--json"], false)
      expect(code).toBe(0)
      expect(stderr).toBe("")
      const result = JSON.parse(stdout)
      expect(result.manifest.digest).toBe(manifest.digest)
      expect(result.copied).toHaveLength(4)
      expect(result.bytes).toBe(manifest.size + 6 + 11 + 12)
    })
  )
})
