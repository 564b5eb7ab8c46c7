/**
 * The packages as a user gets them. Each is packed with `npm pack` (its prepack builds it), and the three
 * tarballs are installed into a program outside the repo that has its own effect: once at the lowest and once
 * at the highest version of the peer ranges `@ocidx/core` and `@ocidx/node` declare. There the README's
 * library example (examples/library.ts, copied as is) must type-check and run with one copy of effect and no
 * "Executing an Effect versioned ..." warning, and the packed `ocidx` must run.
 *
 * It lives with the CLI's tests because it is the only test of the CLI's tarball and its npm bin. Packing
 * happens in a copy of the workspace under the temp directory, so prepack's builds never touch this
 * checkout's dist/ (the other end-to-end tests run the CLI bundle from there meanwhile) and nothing is cached
 * in the repo. It needs the npm registry. It takes one to two minutes on an idle machine and about five with
 * the two cores shared by a dozen processes, hence its long timeout.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { repoRoot } from "./support/cli.js"

const workspaces = ["core", "node", "cli"] as const
const peerNames = ["effect", "@effect/platform", "@effect/platform-node"] as const

// @effect/platform-node's own peers are resolved by npm to their newest patches, which need a newer
// @effect/platform than the lowest one: these are the releases that came out with platform-node 0.106.0.
const platformNodePeersAtLowest: Record<string, string> = {
  "@effect/cluster": "0.58.0",
  "@effect/experimental": "0.60.0",
  "@effect/rpc": "0.75.0",
  "@effect/sql": "0.51.0",
  "@effect/workflow": "0.18.0"
}

const readJson = (path: string): unknown => JSON.parse(NodeFs.readFileSync(path, "utf8"))

const field = (json: unknown, name: string): unknown =>
  typeof json === "object" && json !== null ? Reflect.get(json, name) : undefined

const stringRecord = (value: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries(typeof value === "object" && value !== null ? value : {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string"
    )
  )

const manifestOf = (dir: string): unknown => readJson(NodePath.join(dir, "package.json"))

const installedVersion = (programDir: string, name: string): unknown =>
  field(manifestOf(NodePath.join(programDir, "node_modules", name)), "version")

/** `^3.21.0` or `>=0.96.0 <0.98.0`: the lowest version the range admits. */
const lowestOf = (range: string): string => {
  const lowest = /^(?:\^|>=)\s*(\d+\.\d+\.\d+)/.exec(range)?.[1]
  if (lowest === undefined) throw new Error(`no lower bound in peer range ${JSON.stringify(range)}`)
  return lowest
}

const compareVersions = (a: string, b: string): number => {
  const parts = (version: string) => version.split(/[.-]/).slice(0, 3).map(Number)
  const [x, y] = [parts(a), parts(b)]
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * A user's shell: none of the npm_* variables `npm test` exports (npm_config_local_prefix would point a nested
 * npm at this checkout), and the node running the suite first on PATH, for npm and for the `ocidx` script.
 */
const userEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^npm_/i.test(name) && name !== "NODE_OPTIONS") env[name] = value
  }
  return { ...env, PATH: `${NodePath.dirname(process.execPath)}:${process.env.PATH ?? ""}` }
}

/** Runs a command to its end; killed if the test is interrupted. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const child = ChildProcess.spawn(command, args, { cwd, env: userEnv(), stdio: ["ignore", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk))
    child.on("error", (error) => resume(Effect.succeed({ code: null, stdout: "", stderr: String(error) })))
    child.on("close", (code) =>
      resume(
        Effect.succeed({
          code,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8")
        })
      )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** As `run`, failing the test with the command's output unless it exits 0. */
const runOk = (command: string, args: ReadonlyArray<string>, cwd: string): Effect.Effect<Outcome> =>
  Effect.flatMap(run(command, args, cwd), (outcome) =>
    outcome.code === 0
      ? Effect.succeed(outcome)
      : Effect.dieMessage(
          `${[command, ...args].join(" ")} exited ${outcome.code} in ${cwd}\n${outcome.stdout}\n${outcome.stderr}`
        )
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-pack-")))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * The workspace without node_modules and dist: the root manifest and tsconfig, every workspace package, and
 * a node_modules whose entries link to this checkout's, except @ocidx/*, which link to the copies.
 */
const copyWorkspace = (into: string): void => {
  for (const file of ["package.json", "tsconfig.base.json"]) {
    NodeFs.copyFileSync(NodePath.join(repoRoot, file), NodePath.join(into, file))
  }
  const modules = NodePath.join(into, "node_modules")
  NodeFs.mkdirSync(NodePath.join(modules, "@ocidx"), { recursive: true })
  const listed = field(manifestOf(repoRoot), "workspaces")
  // Paths, or "dir/*" for every package in dir.
  const members = (Array.isArray(listed) ? listed.map(String) : []).flatMap((member) =>
    member.endsWith("/*")
      ? NodeFs.readdirSync(NodePath.join(repoRoot, member.slice(0, -2)))
          .map((entry) => `${member.slice(0, -2)}/${entry}`)
          .filter((entry) => NodeFs.existsSync(NodePath.join(repoRoot, entry, "package.json")))
      : [member]
  )
  for (const member of members) {
    const from = NodePath.join(repoRoot, member)
    const to = NodePath.join(into, member)
    const skipped = new Set([NodePath.join(from, "node_modules"), NodePath.join(from, "dist")])
    NodeFs.cpSync(from, to, { recursive: true, filter: (source) => !skipped.has(source) })
    NodeFs.symlinkSync(to, NodePath.join(modules, String(field(manifestOf(from), "name"))))
  }
  for (const entry of NodeFs.readdirSync(NodePath.join(repoRoot, "node_modules"))) {
    if (entry !== "@ocidx" && entry !== ".package-lock.json") {
      NodeFs.symlinkSync(NodePath.join(repoRoot, "node_modules", entry), NodePath.join(modules, entry))
    }
  }
}

interface Packed {
  readonly tarball: string
  readonly files: ReadonlyArray<string>
}

const packedFiles = (stdout: string): ReadonlyArray<string> => {
  // Scripts' output may come first; the report is the JSON array that ends stdout.
  const report: unknown = JSON.parse(stdout.slice(stdout.indexOf("[\n")))
  const files = field(Array.isArray(report) ? report[0] : undefined, "files")
  return (Array.isArray(files) ? files : []).map((file: unknown) => String(field(file, "path")))
}

const pack = (workspaceCopy: string, destination: string, name: (typeof workspaces)[number]) =>
  runOk("npm", ["pack", "--json", "--pack-destination", destination, "-w", `@ocidx/${name}`], workspaceCopy).pipe(
    Effect.map(
      (outcome): Packed => ({
        tarball: NodePath.join(destination, `ocidx-${name}-0.1.0.tgz`),
        files: packedFiles(outcome.stdout)
      })
    )
  )

// Runs the example as a user's program would, and says where the packages resolved from.
const driver = `import * as NodeFs from "node:fs"
import { Effect } from "effect"
import { isValidTag, tagAndRead } from "./out/library.js"

const layout = process.argv[2]
NodeFs.mkdirSync(layout)
const result = await Effect.runPromise(tagAndRead(layout))
const resolved = ["@ocidx/core", "@ocidx/node", "@ocidx/node/NodeServices"].map((name) => import.meta.resolve(name))
console.log(JSON.stringify({ result, validTag: isValidTag("v1.2"), invalidTag: isValidTag("-bad"), resolved }))
`

/**
 * At the lowest versions the example is checked with the libraries' declarations too (skipLibCheck off), so a
 * type our .d.ts files take from a newer effect fails; at the highest, which the repository's own type-check
 * covers, that slow pass is skipped.
 */
const tsconfig = (checkLibraries: boolean) => ({
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    skipLibCheck: !checkLibraries,
    types: [],
    outDir: "out"
  },
  files: ["library.ts"]
})

const lastLine = (text: string): string => text.trim().split("\n").at(-1) ?? ""

/** One program with its own effect, platform and platform-node, at `versions`; returns what it saw. */
const userProgram = (
  dir: string,
  versions: Record<string, string>,
  tarballs: ReadonlyArray<string>,
  checkLibraries: boolean
) =>
  Effect.gen(function* () {
    NodeFs.mkdirSync(dir)
    NodeFs.writeFileSync(
      NodePath.join(dir, "package.json"),
      JSON.stringify({ name: "ocidx-user", private: true, type: "module", dependencies: versions }, null, 2)
    )
    yield* runOk("npm", ["install", "--no-audit", "--no-fund", ...tarballs], dir)
    const effectCopies = yield* runOk("npm", ["ls", "effect", "--all", "--parseable"], dir)

    NodeFs.copyFileSync(NodePath.join(repoRoot, "examples", "library.ts"), NodePath.join(dir, "library.ts"))
    NodeFs.writeFileSync(NodePath.join(dir, "tsconfig.json"), JSON.stringify(tsconfig(checkLibraries)))
    const tsc = NodePath.join(repoRoot, "node_modules", "typescript", "bin", "tsc")
    yield* runOk(process.execPath, [tsc, "-p", "tsconfig.json"], dir)
    NodeFs.writeFileSync(NodePath.join(dir, "driver.mjs"), driver)
    const layout = NodePath.join(dir, "layout")
    const example = yield* run(process.execPath, ["driver.mjs", layout], dir)

    const ocidx = NodePath.join(dir, "node_modules", ".bin", "ocidx")
    const version = yield* run(ocidx, ["--version"], dir)
    const listed = yield* run(ocidx, ["ls", layout, "--json"], dir)
    const fresh = NodePath.join(dir, "fresh")
    const init = yield* run(ocidx, ["init", fresh], dir)
    const listedFresh = yield* run(ocidx, ["ls", fresh, "--json"], dir)
    return {
      effectCopies: [...new Set(effectCopies.stdout.split("\n").filter((line) => line.trim() !== ""))],
      versions: Object.fromEntries(peerNames.map((name) => [name, installedVersion(dir, name)])),
      example,
      version,
      listed,
      init,
      listedFresh,
      snapshotInstalled: NodeFs.existsSync(NodePath.join(dir, "node_modules", "@ocidx", "cli", "dist", "snapshot"))
    }
  })

const packageDir = (name: string): string => NodePath.join(repoRoot, "packages", name)
const corePeers = stringRecord(field(manifestOf(packageDir("core")), "peerDependencies"))
const nodePeers = stringRecord(field(manifestOf(packageDir("node")), "peerDependencies"))
const rootPins = stringRecord(field(manifestOf(repoRoot), "devDependencies"))
const cliVersion = field(manifestOf(packageDir("cli")), "version")

const manifestDigest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
const refName = "org.opencontainers.image.ref.name"

describe("the packed packages in a user's program", () => {
  it("core and node declare the same ranges for the peers they share", () => {
    expect(Object.keys(nodePeers).sort()).toEqual([...peerNames].sort())
    for (const [name, range] of Object.entries(corePeers)) expect([name, nodePeers[name]]).toEqual([name, range])
  })

  it.scopedLive(
    "install and run at both ends of the peer ranges, with one copy of effect and no version warning",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const workspaceCopy = NodePath.join(dir, "workspace")
        const destination = NodePath.join(dir, "tarballs")
        NodeFs.mkdirSync(workspaceCopy)
        NodeFs.mkdirSync(destination)
        copyWorkspace(workspaceCopy)
        // One after another: node's build reads core's.
        const packed = yield* Effect.forEach(workspaces, (name) => pack(workspaceCopy, destination, name))

        for (const [index, { files }] of packed.entries()) {
          const expected =
            workspaces[index] === "cli"
              ? ["bin/ocidx", "bin/ocidx.mjs", "dist/ocidx.mjs"]
              : ["dist/index.js", "dist/index.d.ts"]
          expect(files).toEqual(expect.arrayContaining(expected))
          expect(files.filter((file) => !/^(?:package\.json|(?:dist|src|bin)\/.+)$/.test(file))).toEqual([])
          // No tests, no build state, no start-up snapshot made for the packing machine's node.
          expect(files.filter((file) => /(?:^|\/)test\/|\.test\.|tsbuildinfo|^dist\/snapshot\//.test(file))).toEqual([])
        }

        const tarballs = packed.map(({ tarball }) => tarball)
        const lowest = Object.fromEntries(peerNames.map((name) => [name, lowestOf(nodePeers[name] ?? "")]))
        const [low, high] = yield* Effect.all(
          [
            userProgram(NodePath.join(dir, "lowest"), { ...lowest, ...platformNodePeersAtLowest }, tarballs, true),
            userProgram(NodePath.join(dir, "highest"), nodePeers, tarballs, false)
          ],
          { concurrency: 2 }
        )

        expect(low.versions).toEqual(lowest)
        // The top of the ranges is at least what this repository develops against.
        for (const name of peerNames) {
          const atLeastPinned = compareVersions(String(high.versions[name]), rootPins[name] ?? "") >= 0
          expect({ name, atLeastPinned }).toEqual({ name, atLeastPinned: true })
        }

        for (const [program, seen] of [
          ["lowest", low],
          ["highest", high]
        ] as const) {
          const programDir = NodePath.join(dir, program)
          expect(seen.effectCopies).toEqual([NodePath.join(programDir, "node_modules", "effect")])

          const { example } = seen
          expect(`${example.stdout}${example.stderr}`).not.toContain("Executing an Effect versioned")
          expect({ code: example.code, stderr: example.stderr }).toEqual({ code: 0, stderr: "" })
          expect(JSON.parse(lastLine(example.stdout))).toMatchObject({
            result: {
              count: 2,
              byTag: { digest: manifestDigest, annotations: { [refName]: "v1" } },
              byName: {
                digest: manifestDigest,
                annotations: { "io.containerd.image.name": "registry.example.com/team/app:1.0", [refName]: "1.0" }
              }
            },
            validTag: true,
            invalidTag: false,
            // The installed build, never src/ through the "@ocidx/source" condition only our tests set.
            resolved: [
              expect.stringMatching(/\/node_modules\/@ocidx\/core\/dist\/index\.js$/),
              expect.stringMatching(/\/node_modules\/@ocidx\/node\/dist\/index\.js$/),
              expect.stringMatching(/\/node_modules\/@ocidx\/node\/dist\/NodeServices\.js$/)
            ]
          })

          expect({ code: seen.version.code, stdout: seen.version.stdout }).toEqual({
            code: 0,
            stdout: `${cliVersion}\n`
          })
          expect({ code: seen.listed.code, stderr: seen.listed.stderr }).toEqual({ code: 0, stderr: "" })
          const listed: unknown = JSON.parse(seen.listed.stdout)
          expect(
            Array.isArray(listed) ? listed.map((entry) => field(field(entry, "annotations"), refName)) : listed
          ).toEqual(["v1", "1.0"])
          expect({ code: seen.init.code, stderr: seen.init.stderr }).toEqual({ code: 0, stderr: "" })
          expect({ code: seen.listedFresh.code, stdout: seen.listedFresh.stdout.trim() }).toEqual({
            code: 0,
            stdout: "[]"
          })
          expect(seen.snapshotInstalled).toBe(false)
        }
      }),
    480_000
  )
})
