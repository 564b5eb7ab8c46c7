/**
 * The fast path (`FastPath.ts`): the plain command lines of `ls`, `get`, `put`, `verify`, `gc` and `blob put`
 * run without @effect/cli, and
 * print exactly what the full path prints, with the same exit code; anything else is left to the full path.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { MemoryFileSystem } from "@ocidx/core/testing"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import * as FastPath from "../src/FastPath.js"
import { binPath, repoRoot } from "./support/cli.js"
import { manifestType, sha256, writeTaggedImage } from "./support/layout.js"
import { type MemoryOptions, ocidxInMemory } from "./support/memory.js"

const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: manifestType,
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("{}"), size: 2 },
  layers: []
})
const digest = sha256(manifest)
const size = String(manifest.length)
const entry = (tag: string, extra: Record<string, unknown> = {}) => ({
  mediaType: manifestType,
  digest,
  size: manifest.length,
  annotations: { "org.opencontainers.image.ref.name": tag },
  ...extra
})

/**
 * `/l`: a layout with the manifest tagged v1 (linux/amd64) and v2; `/one`: only v1; `/g`: as `/one`, with a
 * blob nothing references; `/corrupt`: as `/one`, with the config blob's bytes changed. `/file.txt` is a file
 * to add as a blob.
 */
const layouts = (memory: MemoryFileSystem) => {
  for (const [dir, entries] of [
    ["/l", [entry("v1", { platform: { os: "linux", architecture: "amd64" } }), entry("v2")]],
    ["/one", [entry("v1")]]
  ] as const) {
    memory.writeText(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}')
    memory.writeText(`${dir}/index.json`, JSON.stringify({ schemaVersion: 2, manifests: entries }))
    memory.writeText(`${dir}/blobs/sha256/${digest.slice("sha256:".length)}`, manifest)
    memory.writeText(`${dir}/blobs/sha256/${sha256("{}").slice("sha256:".length)}`, "{}")
  }
  for (const dir of ["/g", "/corrupt"]) {
    memory.writeText(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}')
    memory.writeText(`${dir}/index.json`, JSON.stringify({ schemaVersion: 2, manifests: [entry("v1")] }))
    memory.writeText(`${dir}/blobs/sha256/${digest.slice("sha256:".length)}`, manifest)
  }
  memory.writeText(`/g/blobs/sha256/${sha256("{}").slice("sha256:".length)}`, "{}")
  memory.writeText(`/g/blobs/sha256/${sha256("garbage").slice("sha256:".length)}`, "garbage")
  memory.writeText(`/corrupt/blobs/sha256/${sha256("{}").slice("sha256:".length)}`, "[]")
  memory.writeText("/file.txt", "some content")
  memory.makeDirectory("/empty")
  memory.writeText("/notlayout/readme", "not a layout")
  memory.writeText("/bad/oci-layout", '{"imageLayoutVersion":"1.0.0"}')
  memory.writeText("/bad/index.json", '{"schemaVersion":2,"manifests":[{"digest":')
  memory.writeText("/badentry/oci-layout", '{"imageLayoutVersion":"1.0.0"}')
  memory.writeText(
    "/badentry/index.json",
    '{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"nope","size":-1}]}'
  )
}

/** Runs `args` both ways on fresh copies of the same files, and returns both results. */
const bothWays = (args: ReadonlyArray<string>, options: MemoryOptions = {}) =>
  Effect.all({
    full: ocidxInMemory(args, { setup: layouts, ...options, path: "full" }),
    fast: ocidxInMemory(args, { setup: layouts, ...options, path: "fast" })
  })

const lockHeld: MemoryOptions = { heldLock: { lockPath: "/l/index.json.lock", mode: "exclusive" } }

describe("the fast path", () => {
  it.live("prints what the full path prints, with the same exit code, for what it takes", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number, MemoryOptions?]> = [
        [["ls", "/l"], 0],
        [["ls", "/l", "--json"], 0],
        [["ls", "--json", "/l"], 0],
        [["ls", "/l", "--sizes"], 0],
        [["ls", "/l", "--sizes", "--json"], 0],
        [["ls", "/l", "--lock-timeout", "500ms"], 0],
        [["--lock-timeout", "2m", "ls", "/l"], 0],
        [["--lock-timeout", "2m", "ls", "/l", "--lock-timeout", "0"], 75, lockHeld],
        [["ls", "/l", "--lock-timeout", "0"], 75, lockHeld],
        [["ls", "/missing"], 74],
        [["ls", "/empty"], 74],
        [["ls", "/notlayout"], 74],
        [["ls", "/bad"], 65],
        [["ls", "/badentry", "--json"], 65],
        [["ls", "/l/oci-layout"], 74],
        [["get", "/l", "v1"], 0],
        [["get", "/l", "v2", "--json"], 0],
        [["get", "/one"], 0],
        [["get", "/l"], 1],
        [["get", "/l", "nope"], 1],
        [["get", "/l", "v1", "--platform", "linux/arm64"], 1],
        [["get", "/l", digest], 0],
        [["get", "/missing", "v1"], 74],
        [["get", "/bad", "v1"], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", size], 0],
        [["put", "/l", "--digest", digest, "v3", "--size", size, "v4"], 0],
        [["put", "/l", "--digest", digest, "--size", size], 0],
        [["put", "/l", "v1", "--digest", digest, "--size", size, "--platform", "linux/arm64"], 0],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--media-type", manifestType], 0],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--annotation", "org.example.a=b"], 0],
        [["put", "/l", "--digest", digest, "--size", size, "--name", "docker.io/library/alpine:3.20"], 0],
        [["put", "/l", "v3", "--digest", digest, "--size", "1"], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", "12abc"], 65],
        [["put", "/l", "v3", "--digest", "sha256:nope", "--size", size], 65],
        [["put", "/l", "v3", "--digest", sha256("absent"), "--size", "6"], 0],
        [["put", "/l", "v3", "--digest", digest], 2],
        [["put", "/l", "v3"], 2],
        [["put", "/l", "bad tag!", "--digest", digest, "--size", size], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--name", "not a name"], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--annotation", "org.example.empty="], 0],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--media-type", "not a type"], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--descriptor", "/d.json"], 2],
        [["put", "/l", "v3", "--descriptor", "/missing.json"], 74],
        [["put", "/missing", "v3", "--digest", digest, "--size", size], 74],
        [["put", "/bad", "v3", "--digest", digest, "--size", size], 65],
        [["put", "/l", "v3", "--digest", digest, "--size", size, "--lock-timeout", "0"], 75, lockHeld],
        [["verify", "/l"], 0],
        [["verify", "/l", "--json"], 0],
        [["verify", "--strict", "/l"], 0],
        [["verify", "/g", "--json", "--strict"], 0],
        [["verify", "/corrupt"], 1],
        [["verify", "/corrupt", "--json"], 1],
        [["verify", "/bad"], 1],
        [["verify", "/missing"], 1],
        [["verify", "/notlayout"], 1],
        [["verify", "/l", "--lock-timeout", "0"], 75, lockHeld],
        [["--lock-timeout", "1s", "verify", "/l"], 0],
        [["gc", "/g"], 0],
        [["gc", "/g", "--json"], 0],
        [["gc", "/g", "--grace", "0"], 0],
        [["gc", "/g", "--grace", "0", "--json"], 0],
        [["gc", "/g", "--dry-run", "--grace", "0"], 0],
        [["gc", "--grace", "0", "/g", "--dry-run", "--json"], 0],
        [["gc", "/g", "--grace", "2h", "--force"], 0],
        [["gc", "/bad", "--grace", "0"], 65],
        [["gc", "/bad", "--grace", "0", "--force"], 65],
        [["gc", "/missing"], 74],
        [["gc", "/l", "--grace", "0", "--lock-timeout", "0"], 75, lockHeld],
        [["blob", "put", "/l", "/file.txt"], 0],
        [["blob", "put", "/l", "/file.txt", "--media-type", "application/vnd.oci.image.layer.v1.tar"], 0],
        [["blob", "put", "--media-type", "not a type", "/l", "/file.txt"], 65],
        [["blob", "put", "/l", "/missing.txt"], 74],
        [["blob", "put", "/l", "/empty"], 74],
        [["blob", "put", "/missing", "/file.txt"], 74],
        [["blob", "put", "/empty", "/file.txt"], 0],
        [["--lock-timeout", "1s", "blob", "put", "/l", "/file.txt"], 0],
        [["blob", "put", "/l", "/file.txt", "--lock-timeout", "0"], 0, lockHeld]
      ]
      for (const [args, code, options] of cases) {
        expect(FastPath.recognise(args), args.join(" ")).toBeDefined()
        const { fast, full } = yield* bothWays(args, options)
        expect(full.code, `${args.join(" ")}: ${full.stderr}`).toBe(code)
        expect(fast, args.join(" ")).toEqual(full)
      }
    })
  )

  it("leaves everything else to the full path", () => {
    const others: ReadonlyArray<ReadonlyArray<string>> = [
      [],
      ["--version"],
      ["--help"],
      ["ls"],
      ["ls", "--help"],
      ["ls", "/l", "-h"],
      ["ls", "/l", "--json=true"],
      ["ls", "/l", "--json", "false"],
      ["ls", "/l", "--json", "yes"],
      ["ls", "/l", "--json", "--json"],
      ["ls", "/l", "--JSON"],
      ["ls", "/l", "--bogus"],
      ["ls", "/l", "extra"],
      ["ls", "--", "/l"],
      ["ls", "-"],
      ["ls", ""],
      ["ls", "/l", "--lock-timeout"],
      ["ls", "/l", "--lock-timeout", "soon"],
      ["ls", "/l", "--lock-timeout", "1s", "--lock-timeout", "2s"],
      ["--lock-timeout", "soon", "ls", "/l"],
      ["--lock-timeout", "soon", "ls", "/l", "--lock-timeout", "1s"],
      ["--log-level", "debug", "ls", "/l"],
      ["LS", "/l"],
      ["verify", "/l", "/g"],
      ["verify", "/l", "--strict", "no"],
      ["verify", "/l", "--sizes"],
      ["verify", "--help"],
      ["gc", "/l", "--grace"],
      ["gc", "/l", "--grace", "soon"],
      ["gc", "/l", "--grace", "0", "--grace", "1s"],
      ["gc", "/l", "--dry-run=true"],
      ["gc", "/l", "--force", "off"],
      ["gc"],
      ["init", "/l"],
      ["blob", "put", "/l", "-"],
      ["blob", "put", "/l"],
      ["blob", "put", "/l", "/a", "/b"],
      ["blob", "put", "/l", "/file", "--media-type"],
      ["blob", "put", "/l", "/file", "--json"],
      ["blob", "get", "/l", digest],
      ["blob", "/l", "put", "/file"],
      ["blob", "--lock-timeout", "1s", "put", "/l", "/file"],
      ["blob", "put", "--help"],
      ["blob"],
      ["get", "/l", "v1", "v2"],
      ["get", "/l", "--platform", "linux"],
      ["get", "/l", "--sizes"],
      ["put", "/l", "v3", "--digest", digest, "--digest", digest, "--size", size],
      ["put", "/l", "v3", "--digest", digest, "--size"],
      ["put", "/l", "v3", "--digest", "--size", size],
      ["put", "/l", "v3", `--digest=${digest}`, "--size", size],
      ["put", "/l", "v3", "--digest", digest, "--size", size, "--annotation", "novalue"],
      ["put", "/l", "v3", "--digest", digest, "--size", size, "--json"],
      ["put", "/l", "--descriptor", "-"],
      ["put", "--help"]
    ]
    for (const args of others) expect(FastPath.recognise(args), args.join(" ")).toBeUndefined()
  })

  it.live("the full path still reports what the fast path leaves to it", () =>
    Effect.gen(function* () {
      const result = yield* ocidxInMemory(["ls", "/l", "--lock-timeout", "soon"], { setup: layouts })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("--lock-timeout")
    })
  )

  it.scopedLive("the bundle takes it for plain command lines, without loading @effect/cli", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const dir = NodePath.join(root, "layout")
      writeTaggedImage(dir)
      const file = NodePath.join(root, "file.txt")
      NodeFs.writeFileSync(file, "some content")
      const log = NodePath.join(root, "loads.txt")
      // Records every module the bundle loads, through node's module hooks.
      const hooks = NodePath.join(root, "hooks.mjs")
      NodeFs.writeFileSync(
        hooks,
        `import { appendFileSync } from "node:fs"
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n")
  return result
}
`
      )
      const register = NodePath.join(root, "register.mjs")
      NodeFs.writeFileSync(
        register,
        `import { register } from "node:module"\nregister(${JSON.stringify(`file://${hooks}`)})\n`
      )
      const loads = (args: ReadonlyArray<string>) => {
        NodeFs.rmSync(log, { force: true })
        const result = ChildProcess.spawnSync(process.execPath, ["--import", register, binPath, ...args], {
          cwd: repoRoot,
          encoding: "utf8"
        })
        expect(result.status, result.stderr).toBe(0)
        const urls = NodeFs.readFileSync(log, "utf8")
          .split("\n")
          .filter((url) => url.includes("/dist/"))
        const chunks = urls.map((url) => NodePath.basename(url))
        // What the loaded chunks hold: @effect/cli's modules name themselves in their type ids.
        const withCli = urls.filter((url) => NodeFs.readFileSync(new URL(url), "utf8").includes('"@effect/cli/'))
        return { chunks, withCli }
      }
      for (const args of [
        ["ls", dir],
        ["ls", dir, "--json"],
        ["get", dir, "v1"],
        ["verify", dir],
        ["gc", dir, "--grace", "0", "--json"],
        ["blob", "put", dir, file],
        ["put", dir, "v2", "--digest", digest, "--size", size]
      ]) {
        const { chunks, withCli } = loads(args)
        expect(
          chunks.some((chunk) => chunk.startsWith("FastPath-")),
          args.join(" ")
        ).toBe(true)
        expect(
          chunks.some((chunk) => chunk.startsWith("main-")),
          args.join(" ")
        ).toBe(false)
        expect(withCli, args.join(" ")).toEqual([])
      }
      // The same check sees the full path when it runs.
      const full = loads(["ls", "--help"])
      expect(full.chunks.some((chunk) => chunk.startsWith("main-"))).toBe(true)
      expect(full.withCli.length).toBeGreaterThan(0)
    })
  )
})
