/**
 * How `ocidx` starts. The npm bin, bin/ocidx, is a sh launcher that runs bin/ocidx.mjs (the ESM bundle, which the
 * other end-to-end tests run) with the `node` on PATH, from wherever it is linked. On Node 22.1+ the bundle turns
 * on node's compile cache. Whichever way it starts, a command prints the same and exits with the same code. (How
 * fast it starts is for the benchmarks.)
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeModule from "node:module"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { binPath, repoRoot } from "./support/cli.js"
import { canFlock as lockIsFree, flockCommand as flock, holdFlock as holdLock } from "@ocidx/testkit/Flock"
import { run } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { manifestType, readIndex, sha256, snapshot, writeBlob, writeTaggedImage } from "./support/layout.js"

const cliDir = NodePath.join(repoRoot, "packages", "cli")
const launcher = NodePath.join(cliDir, "bin", "ocidx")

/** The environment of a user without NODE_OPTIONS or a compile cache of their own, whose `node` is this one. */
const userEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !unsetForUser.has(name)) env[name] = value
  }
  return { ...env, PATH: `${NodePath.dirname(process.execPath)}:${process.env.PATH ?? ""}`, ...extra }
}

const unsetForUser = new Set(["NODE_OPTIONS", "NODE_COMPILE_CACHE", "NODE_DISABLE_COMPILE_CACHE"])

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

interface RunOptions {
  readonly cwd?: string
  readonly input?: string
  readonly env?: Record<string, string>
}

const spawn = (command: string, args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<Outcome> =>
  Effect.orDie(
    run(command, args, {
      cwd: options.cwd ?? repoRoot,
      // Merged into this process's environment: unset what userEnv leaves out, unless `options.env` sets it.
      env: {
        NODE_OPTIONS: undefined,
        NODE_COMPILE_CACHE: undefined,
        NODE_DISABLE_COMPILE_CACHE: undefined,
        ...userEnv(options.env)
      },
      input: options.input
    }).pipe(Effect.map(({ code, stdout, stderr }) => ({ code, stdout, stderr })))
  )

/** `ocidx ...args` as a user runs it: the npm bin (or `bin`, another copy of it). */
const viaBin = (args: ReadonlyArray<string>, options?: RunOptions, bin = launcher) => spawn(bin, args, options)

/** `ocidx ...args` from the ESM bundle, as the other end-to-end tests run it. */
const viaEsm = (args: ReadonlyArray<string>, options?: RunOptions) =>
  spawn(process.execPath, [binPath, ...args], options)

const digest = sha256("some manifest")

/** Two identical layouts, `<root>/a/layout` and `<root>/b/layout`, so that a write can run each way. */
const twoLayouts = Effect.gen(function* () {
  const root = yield* tempDir
  const a = NodePath.join(root, "a")
  const b = NodePath.join(root, "b")
  writeTaggedImage(NodePath.join(a, "layout"))
  writeBlob(NodePath.join(a, "layout"), "some manifest", manifestType)
  NodeFs.cpSync(a, b, { recursive: true })
  return { root, a, b }
})

/** A copy of the package's launcher and entry point in `dir`, with the real bundle linked in. */
const packageCopy = (dir: string): string => {
  NodeFs.mkdirSync(NodePath.join(dir, "bin"), { recursive: true })
  NodeFs.mkdirSync(NodePath.join(dir, "dist"), { recursive: true })
  NodeFs.copyFileSync(launcher, NodePath.join(dir, "bin", "ocidx"))
  NodeFs.chmodSync(NodePath.join(dir, "bin", "ocidx"), 0o755)
  NodeFs.copyFileSync(binPath, NodePath.join(dir, "bin", "ocidx.mjs"))
  NodeFs.symlinkSync(NodePath.join(cliDir, "dist", "ocidx.mjs"), NodePath.join(dir, "dist", "ocidx.mjs"))
  NodeFs.symlinkSync(NodePath.join(cliDir, "dist", "chunks"), NodePath.join(dir, "dist", "chunks"))
  return NodePath.join(dir, "bin", "ocidx")
}

/** Whether this node has a compile cache that a program can turn on (22.1+). */
const hasCompileCache = typeof Reflect.get(NodeModule, "enableCompileCache") === "function"

describe.concurrent("start-up: the bin and the ESM bundle", () => {
  it.scopedLive("reads, usage errors and failures: same output and exit code either way", () =>
    Effect.gen(function* () {
      const { a: cwd } = yield* twoLayouts
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number]> = [
        [["--version"], 0],
        [["ls", "layout"], 0],
        [["ls", "layout", "--json"], 0],
        [["--lock-timeout", "5s", "ls", "--json", "layout"], 0],
        [["get", "layout", "v1"], 0],
        [["verify", "layout", "--json"], 0],
        [["ls"], 2],
        [["ls", "layout", "--bogus"], 2],
        [["ls", "layout", "--lock-timeout", "soon"], 2],
        [["get", "layout", "nope"], 1],
        [["ls", "missing"], 74],
        [["ls", "--help"], 0]
      ]
      for (const [args, code] of cases) {
        const esm = yield* viaEsm(args, { cwd })
        expect(esm.code, `${args.join(" ")}: ${esm.stderr}`).toBe(code)
        expect(yield* viaBin(args, { cwd }), args.join(" ")).toEqual(esm)
      }
    })
  )

  it.scopedLive("writes, and standard input: same output, exit code and layout either way", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoLayouts
      const descriptor = JSON.stringify({
        mediaType: manifestType,
        digest,
        size: 13,
        annotations: { "org.example.owner": "Zoë – ünïcödé ✓" }
      })
      const steps: ReadonlyArray<readonly [ReadonlyArray<string>, string | undefined]> = [
        [["put", "layout", "v2", "--digest", digest, "--size", "13", "--platform", "linux/arm64"], undefined],
        [["put", "layout", "v3", "--descriptor", "-"], descriptor],
        [["put", "layout", "v4", "--descriptor", "-"], "{not json"],
        [["put", "layout", "v5", "--digest", "sha256:nope", "--size", "13"], undefined],
        [["rm", "layout", "v2"], undefined],
        [["ls", "layout"], undefined]
      ]
      for (const [args, input] of steps) {
        const esm = yield* viaEsm(args, { cwd: a, ...(input === undefined ? {} : { input }) })
        const bin = yield* viaBin(args, { cwd: b, ...(input === undefined ? {} : { input }) })
        expect(bin, args.join(" ")).toEqual(esm)
      }
      expect(readIndex(NodePath.join(b, "layout"))).toEqual(readIndex(NodePath.join(a, "layout")))
      expect(snapshot(NodePath.join(b, "layout"))).toEqual(snapshot(NodePath.join(a, "layout")))
      expect(readIndex(NodePath.join(b, "layout")).manifests.map((entry) => entry.annotations)).toContainEqual({
        "org.example.owner": "Zoë – ünïcödé ✓",
        "org.opencontainers.image.ref.name": "v3"
      })
    })
  )

  it.scopedLive("NODE_OPTIONS: the same result", () =>
    Effect.gen(function* () {
      const { a: cwd } = yield* twoLayouts
      const expected = yield* viaEsm(["ls", "layout"], { cwd })
      expect(yield* viaBin(["ls", "layout"], { cwd, env: { NODE_OPTIONS: "--no-deprecation" } })).toEqual(expected)
    })
  )

  it.scopedLive.skipIf(!hasCompileCache)(
    "node 22.1+: the bundle fills node's compile cache, and runs the same from it or without one",
    () =>
      Effect.gen(function* () {
        const { root, a: cwd } = yield* twoLayouts
        const expected = yield* viaEsm(["ls", "layout"], { cwd, env: { NODE_DISABLE_COMPILE_CACHE: "1" } })
        // Node keeps its cache under the temporary directory unless NODE_COMPILE_CACHE names one.
        const tmp = NodePath.join(root, "tmp")
        NodeFs.mkdirSync(tmp)
        expect(yield* viaBin(["ls", "layout"], { cwd, env: { TMPDIR: tmp } })).toEqual(expected)
        const cache = NodePath.join(tmp, "node-compile-cache")
        expect(NodeFs.readdirSync(cache, { recursive: true }).length).toBeGreaterThan(1)
        expect(yield* viaBin(["ls", "layout"], { cwd, env: { TMPDIR: tmp } })).toEqual(expected)
        // A cache node cannot write is no cache, not a failure.
        const missing = NodePath.join(root, "missing", "tmp")
        expect(yield* viaBin(["ls", "layout"], { cwd, env: { TMPDIR: missing } })).toEqual(expected)
      })
  )

  it.scopedLive("through a symlink, as npm links the bin, from anywhere: the same result", () =>
    Effect.gen(function* () {
      const { root, a: cwd } = yield* twoLayouts
      const bin = packageCopy(NodePath.join(root, "package"))
      const binDir = NodePath.join(root, "node_modules", ".bin")
      NodeFs.mkdirSync(binDir, { recursive: true })
      NodeFs.symlinkSync(NodePath.relative(binDir, bin), NodePath.join(binDir, "ocidx"))
      const linked = NodePath.join(binDir, "ocidx")
      for (const args of [["ls", "layout"], ["put", "layout", "v1", "--digest", digest, "--size", "13"], ["ls"]]) {
        expect(yield* viaBin(args, { cwd }, linked)).toEqual(yield* viaEsm(args, { cwd }))
      }
    })
  )

  it.scopedLive.skipIf(process.platform !== "linux" || flock === undefined)(
    "SIGTERM stops a run of the bin that waits for the lock: exit 143, nothing changed",
    () =>
      Effect.gen(function* () {
        const { a } = yield* twoLayouts
        const dir = NodePath.join(a, "layout")
        const lockPath = NodePath.join(dir, "index.json.lock")
        const before = snapshot(dir)
        yield* holdLock(lockPath, "shared")
        for (let i = 0; i < 200 && (yield* lockIsFree(lockPath, "exclusive")); i++) yield* Effect.sleep("25 millis")
        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            ChildProcess.spawn(launcher, ["put", dir, "v2", "--digest", digest, "--size", "13"], {
              env: userEnv(),
              stdio: ["ignore", "pipe", "pipe"]
            })
          ),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        let stderr = ""
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk
        })
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on("exit", (code, signal) => resolve({ code, signal }))
        )
        // The bin execs node, so the pid is node's: wait until it has loaded the flock binding.
        const maps = `/proc/${child.pid ?? 0}/maps`
        for (let i = 0; i < 400; i++) {
          const loaded = yield* Effect.sync(() => {
            try {
              return NodeFs.readFileSync(maps, "utf8").includes("koffi.node")
            } catch {
              return false
            }
          })
          if (loaded) break
          yield* Effect.sleep("25 millis")
        }
        expect(NodeFs.readFileSync(`/proc/${child.pid ?? 0}/cmdline`, "utf8")).toContain("ocidx.mjs")
        yield* Effect.sleep("300 millis")
        child.kill("SIGTERM")
        const exit = yield* Effect.promise(() => exited)
        expect(exit, stderr).toEqual({ code: 143, signal: null })
        expect(stderr).toBe("")
        expect(snapshot(dir)).toEqual(before)
      })
  )
})
