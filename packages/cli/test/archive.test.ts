/**
 * ocidx import and export against skopeo 1.9: round trips both ways for oci-archive and docker-archive,
 * single- and multi-platform, with equal digests and docker's config kept byte for byte; two exports
 * byte-identical; standard input and output; a hostile archive refused with 65 and one line naming the entry.
 * Skipped, with a message, only where skopeo or umoci is not installed.
 */
import * as Crypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath, umociPath } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import { packTar, unpackTar } from "modern-tar"
import { ocidx, ocidxExpect } from "./support/cli.js"
import { indexType, readIndex, snapshot, writeImage, writeLayout } from "./support/layout.js"

const noTools = missing(["skopeo", skopeoPath], ["umoci", umociPath])
announceSkip("the archive round trips with skopeo", noTools)
const skopeo = (...args: ReadonlyArray<string>) => runOk(skopeoPath ?? "skopeo", args)
const umoci = (...args: ReadonlyArray<string>) => runOk(umociPath ?? "umoci", args)
const sha256 = (bytes: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`
/** The digest of the entry tagged `tag` in a layout, as its index.json says. */
const digestIn = (layout: string, tag = "v1") =>
  readIndex(layout).manifests.find(
    (m) => (m.annotations as Record<string, string> | undefined)?.["org.opencontainers.image.ref.name"] === tag
  )?.digest

/** The digest of the one entry of an archive's index.json, as the tool that wrote it says. */
const archiveDigest = (file: string) =>
  Effect.map(
    Effect.promise(() => unpackTar(NodeFs.readFileSync(file))),
    (entries) =>
      JSON.parse(new TextDecoder().decode(entries.find((e) => e.header.name === "index.json")?.data)).manifests[0]
        .digest
  )

/** A umoci layout with a real (gzip) layer, tagged v1. */
const umociImage = (dir: string) =>
  Effect.gen(function* () {
    const layout = NodePath.join(dir, "umoci")
    const file = NodePath.join(dir, "hello.txt")
    NodeFs.writeFileSync(file, "hello from umoci\n")
    yield* umoci("init", "--layout", layout)
    yield* umoci("new", "--image", `${layout}:v1`)
    yield* umoci("insert", "--rootless", "--image", `${layout}:v1`, file, "/hello.txt")
    return layout
  })

/** A layout holding a two-platform index tagged v1. */
const multiPlatform = (dir: string) => {
  const layout = NodePath.join(dir, "multi")
  const amd64 = writeImage(layout, "amd64")
  const arm64 = writeImage(layout, "arm64")
  const index = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [
        { ...amd64.manifest, platform: { os: "linux", architecture: "amd64" } },
        { ...arm64.manifest, platform: { os: "linux", architecture: "arm64" } }
      ]
    })
  )
  const digest = sha256(index)
  NodeFs.mkdirSync(NodePath.join(layout, "blobs", "sha256"), { recursive: true })
  NodeFs.writeFileSync(NodePath.join(layout, "blobs", "sha256", digest.slice(7)), index)
  writeLayout(layout, [
    { mediaType: indexType, digest, size: index.length, annotations: { "org.opencontainers.image.ref.name": "v1" } }
  ])
  return { layout, digest }
}

describe.skipIf(noTools !== undefined).concurrent("ocidx import and export with skopeo 1.9", () => {
  it.scopedLive(
    "oci-archive both ways, single- and multi-platform: equal digests; two exports byte-identical",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const single = yield* umociImage(dir)
        const multi = multiPlatform(dir)
        for (const [source, all] of [
          [single, []],
          [multi.layout, ["--all"]]
        ] as const) {
          const name = NodePath.basename(source)
          const skopeoTar = NodePath.join(dir, `${name}-skopeo.tar`)
          yield* skopeo("copy", ...all, `oci:${source}:v1`, `oci-archive:${skopeoTar}:v1`)
          const want = yield* archiveDigest(skopeoTar)
          const imported = NodePath.join(dir, `${name}-imported`)
          const out = yield* ocidxExpect(0, ["import", skopeoTar, imported, "--json"])
          expect(JSON.parse(out.stdout).manifest.digest).toBe(want)
          expect(readIndex(imported).manifests.map((m) => m.digest)).toEqual([want])
          yield* ocidxExpect(0, ["verify", imported])

          const exported = NodePath.join(dir, `${name}-ocidx.tar`)
          const again = NodePath.join(dir, `${name}-ocidx-again.tar`)
          yield* ocidxExpect(0, ["export", `${imported}:v1`, exported])
          yield* ocidxExpect(0, ["export", `${imported}:v1`, again])
          expect(NodeFs.readFileSync(exported).equals(NodeFs.readFileSync(again))).toBe(true)
          const back = NodePath.join(dir, `${name}-back`)
          yield* skopeo("copy", ...all, `oci-archive:${exported}:v1`, `oci:${back}:v1`)
          expect(digestIn(back)).toBe(want)
        }
      }),
    120_000
  )

  it.scopedLive(
    "docker-archive both ways: docker's config kept byte for byte, RepoTags as names, layers equal",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const source = yield* umociImage(dir)
        const dockerTar = NodePath.join(dir, "docker.tar")
        yield* skopeo("copy", `oci:${source}:v1`, `docker-archive:${dockerTar}:example.com/app:v1`)
        const files = yield* Effect.promise(() => unpackTar(NodeFs.readFileSync(dockerTar)))
        const byName = new Map(files.map((f) => [f.header.name, f.data]))
        const [item] = JSON.parse(new TextDecoder().decode(byName.get("manifest.json")))
        const configBytes = byName.get(item.Config)
        expect(configBytes).toBeDefined()
        const imported = NodePath.join(dir, "imported")
        yield* ocidxExpect(0, ["import", dockerTar, imported])
        const [entry] = readIndex(imported).manifests
        expect(entry?.annotations).toEqual({
          "io.containerd.image.name": "example.com/app:v1",
          "org.opencontainers.image.ref.name": "v1"
        })
        const manifest = JSON.parse(
          NodeFs.readFileSync(NodePath.join(imported, "blobs", "sha256", String(entry?.digest).slice(7)), "utf8")
        )
        expect(manifest.config.digest).toBe(sha256(configBytes ?? new Uint8Array()))
        expect(
          NodeFs.readFileSync(NodePath.join(imported, "blobs", "sha256", manifest.config.digest.slice(7))).equals(
            Buffer.from(configBytes ?? new Uint8Array())
          )
        ).toBe(true)
        expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(
          item.Layers.map((path: string) => sha256(byName.get(path) ?? new Uint8Array()))
        )
        yield* ocidxExpect(0, ["verify", imported])

        // And back: what ocidx exports as docker, skopeo reads, with the same layers and config.
        const exported = NodePath.join(dir, "ocidx-docker.tar")
        yield* ocidxExpect(0, ["export", "--format", "docker", imported, exported])
        const back = NodePath.join(dir, "back")
        yield* skopeo("copy", `docker-archive:${exported}`, `oci:${back}:v1`)
        // skopeo re-encodes the config and may compress layers on its way into oci:, so compare content.
        const backConfig = JSON.parse(yield* skopeo("inspect", "--config", "--raw", `oci:${back}:v1`))
        expect(backConfig).toEqual(JSON.parse(new TextDecoder().decode(configBytes)))
        expect(backConfig.rootfs.diff_ids).toEqual(manifest.layers.map((l: { digest: string }) => l.digest))
      }),
    120_000
  )

  it.scopedLive(
    "standard input and output; copy with the archive transports",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const source = yield* umociImage(dir)
        const file = NodePath.join(dir, "a.tar")
        yield* ocidxExpect(0, ["export", `${source}:v1`, file])
        const piped = yield* ocidx(["export", `${source}:v1`, "-"])
        expect(piped.code).toBe(0)
        const fromStdin = NodePath.join(dir, "stdin")
        yield* ocidxExpect(0, ["import", "-", fromStdin, "--tag", "piped"], { input: NodeFs.readFileSync(file) })
        expect(readIndex(fromStdin).manifests.map((m) => m.annotations)).toEqual([
          { "org.opencontainers.image.ref.name": "piped" }
        ])
        const viaCopy = NodePath.join(dir, "copy")
        const copied = yield* ocidxExpect(0, ["copy", `oci-archive:${file}:v1`, `oci:${viaCopy}:again`])
        expect(copied.stdout).toMatch(/^imported|^copied/)
        yield* ocidxExpect(0, ["copy", `oci:${viaCopy}:again`, `docker-archive:${NodePath.join(dir, "d.tar")}`])
      }),
    120_000
  )
})

describe("ocidx import refuses a hostile archive", () => {
  it.scopedLive(
    "exit 65, one line naming the entry, the layout unchanged",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = NodePath.join(dir, "layout")
        writeLayout(layout)
        const before = snapshot(layout)
        const cases: ReadonlyArray<readonly [string, Uint8Array]> = [
          ["../escape", yield* Effect.promise(() => packTar([{ header: { name: "../escape", size: 1 }, body: "x" }]))],
          [
            "blobs/sha256/dev",
            yield* Effect.promise(() =>
              packTar([{ header: { name: "blobs/sha256/dev", size: 0, type: "block-device" } }])
            )
          ]
        ]
        for (const [name, bytes] of cases) {
          const archive = NodePath.join(dir, "hostile.tar")
          NodeFs.writeFileSync(archive, bytes)
          const result = yield* ocidx(["import", archive, layout])
          expect(result.code, result.stderr).toBe(65)
          expect(result.stderr.startsWith(`ocidx: ${archive}: "${name}": `), result.stderr).toBe(true)
          expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
          expect(snapshot(layout)).toEqual(before)
        }
        expect(NodeFs.existsSync(NodePath.join(dir, "escape"))).toBe(false)
      }),
    120_000
  )
})
