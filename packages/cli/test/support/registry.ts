/**
 * What the end-to-end registry tests share: `ocidx` run with credentials from a temp `$DOCKER_CONFIG` only (no
 * credentials of the machine's user can leak in), and umoci-made images (one platform, and a two-platform
 * index written by hand) as the layouts to push.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { type Child, type RunResult, run, spawn } from "@ocidx/testkit/Processes"
import { umoci } from "@ocidx/testkit/Tools"
import type { Scope } from "effect"
import { Effect } from "effect"
import { binPath, repoRoot } from "./cli.js"
import { indexType, sha256 } from "./layout.js"

/**
 * The bundle these tests run: the tree's own, or `$OCIDX_TEST_BIN` (a copy of it, for a run that other builds
 * in the same tree must not change under it).
 */
const bin = process.env.OCIDX_TEST_BIN ?? binPath

/** The environment of an `ocidx` that finds credentials in `dockerConfig` (a directory) or nowhere. */
export const credentialEnv = (home: string, dockerConfig?: string): Readonly<Record<string, string | undefined>> => ({
  HOME: home,
  DOCKER_CONFIG: dockerConfig ?? NodePath.join(home, ".docker"),
  REGISTRY_AUTH_FILE: undefined,
  XDG_RUNTIME_DIR: undefined,
  // Progress goes to a terminal only; the tests read stderr for the one error line.
  CI: "1"
})

/** `ocidx ...args` in `env`; never fails, whatever the exit code. */
export const ocidxWith = (
  env: Readonly<Record<string, string | undefined>>,
  args: ReadonlyArray<string>,
  input?: string
): Effect.Effect<RunResult> => Effect.orDie(run(process.execPath, [bin, ...args], { cwd: repoRoot, env, input }))

/** `ocidxWith`, failing the test with the output unless it exits with `code`. */
export const expectExit = (
  code: number,
  env: Readonly<Record<string, string | undefined>>,
  args: ReadonlyArray<string>,
  input?: string
): Effect.Effect<RunResult, Error> =>
  Effect.flatMap(ocidxWith(env, args, input), (result) =>
    result.code === code
      ? Effect.succeed(result)
      : Effect.fail(
          new Error(
            `ocidx ${args.join(" ")}: expected exit ${code}, got ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
          )
        )
  )

/** `ocidx ...args` running beside the test (to be killed). */
export const spawnOcidx = (
  env: Readonly<Record<string, string | undefined>>,
  args: ReadonlyArray<string>
): Effect.Effect<Child, Error, Scope.Scope> => spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env })

/** Every secret form of `user:password` that must never be printed: the password and the Basic `auth` value. */
export const secretsOf = (user: string, password: string): ReadonlyArray<string> => [
  password,
  Buffer.from(`${user}:${password}`).toString("base64")
]

export interface IndexEntry {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly annotations?: Record<string, string>
}

const readIndex = (layout: string): { manifests: Array<IndexEntry> } =>
  JSON.parse(NodeFs.readFileSync(NodePath.join(layout, "index.json"), "utf8"))

/** The layout's entry whose ref name is `tag`, or `undefined` (also when there is no index.json). */
export const entryOf = (layout: string, tag: string): IndexEntry | undefined => {
  if (!NodeFs.existsSync(NodePath.join(layout, "index.json"))) return undefined
  return readIndex(layout).manifests.find((entry) => entry.annotations?.["org.opencontainers.image.ref.name"] === tag)
}

export const blobFile = (layout: string, digest: string): string => NodePath.join(layout, "blobs", ...digest.split(":"))

export const readJsonBlob = (
  layout: string,
  digest: string
): Record<string, unknown> & {
  readonly layers?: ReadonlyArray<IndexEntry>
  readonly config?: IndexEntry
  readonly manifests?: ReadonlyArray<IndexEntry & { platform?: { os: string; architecture: string } }>
} => JSON.parse(NodeFs.readFileSync(blobFile(layout, digest), "utf8"))

/**
 * A umoci layout `<dir>/layout` holding `v1`: one platform (linux/amd64), with a layer per entry of `files`
 * (name -> content).
 */
export const singleImage = (
  dir: string,
  files: Readonly<Record<string, string | Uint8Array>> = { "hello.txt": "hello\n" }
) =>
  Effect.gen(function* () {
    const layout = NodePath.join(dir, "layout")
    yield* umoci.init(layout)
    yield* umoci.new(layout, "base")
    for (const [name, content] of Object.entries(files)) {
      const file = NodePath.join(dir, name)
      NodeFs.writeFileSync(file, content)
      yield* umoci.insert(layout, "base", file, `/${name}`)
    }
    yield* umoci.setArchitecture(layout, "base", "amd64", "v1")
    yield* umoci.remove(layout, "base")
    const entry = entryOf(layout, "v1")
    if (entry === undefined) return yield* Effect.dieMessage("umoci wrote no v1")
    return { layout, manifest: entry }
  })

/**
 * A umoci layout `<dir>/layout` holding `multi`: an OCI index (written by hand) of a linux/amd64 and a
 * linux/arm64 manifest sharing one layer; `amd64` and `arm64` tag the manifests.
 */
export const multiArchImage = (dir: string) =>
  Effect.gen(function* () {
    const layout = NodePath.join(dir, "layout")
    const file = NodePath.join(dir, "hello.txt")
    NodeFs.writeFileSync(file, `hello from ${NodeCrypto.randomUUID()}\n`)
    yield* umoci.init(layout)
    yield* umoci.new(layout, "base")
    yield* umoci.insert(layout, "base", file, "/hello.txt")
    yield* umoci.setArchitecture(layout, "base", "amd64", "amd64")
    yield* umoci.setArchitecture(layout, "base", "arm64", "arm64")
    yield* umoci.remove(layout, "base")
    const platformEntry = (architecture: string) => {
      const entry = entryOf(layout, architecture)
      return entry === undefined
        ? Effect.dieMessage(`umoci wrote no ${architecture}`)
        : Effect.succeed({
            mediaType: entry.mediaType,
            digest: entry.digest,
            size: entry.size,
            platform: { architecture, os: "linux" }
          })
    }
    const amd64 = yield* platformEntry("amd64")
    const arm64 = yield* platformEntry("arm64")
    const bytes = JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: [amd64, arm64] })
    const digest = sha256(bytes)
    NodeFs.writeFileSync(blobFile(layout, digest), bytes)
    const index = readIndex(layout)
    const entry = {
      mediaType: indexType,
      digest,
      size: Buffer.byteLength(bytes),
      annotations: { "org.opencontainers.image.ref.name": "multi" }
    }
    index.manifests.push(entry)
    NodeFs.writeFileSync(NodePath.join(layout, "index.json"), JSON.stringify(index))
    return { layout, index: entry, amd64, arm64 }
  })
