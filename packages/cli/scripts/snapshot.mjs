// Builds the V8 start-up snapshot of the CLI, dist/snapshot/ocidx.blob, that bin/ocidx starts from: node
// deserializes a heap in which every module is already evaluated, instead of compiling and running ~2 MB of
// JavaScript on every start.
//
// A snapshot is made by one node binary for that binary only, from one CommonJS script that may require
// built-in modules only. So:
// - src/snapshot.ts is bundled into one CommonJS file, in which koffi (a native module, imported when the
//   first lock is taken) is loaded at run time, never while the snapshot is built;
// - the blob is built by the node running this build, and dist/snapshot/node-id records which binary that
//   was (device, inode, size and mtime, as `stat` shows them), for bin/ocidx to compare with the node it
//   finds; node.json records its version and platform, for people;
// - the blob is tried once before it is kept. Whatever fails, the snapshot is removed with a warning, and
//   bin/ocidx runs the ESM bundle instead.
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { build } from "esbuild"

// The snapshot cannot hold a native module. @ocidx/node imports koffi (`import("koffi")`) when it takes the
// first lock, so the snapshot never evaluates it while being built; at run time this module loads the real
// koffi with the require that src/snapshot.ts sets for each run, resolved from dist/ as the ESM bundle's is.
// It comes before noDynamicImports, which would otherwise claim this dynamic import.
const koffiAtRunTime = {
  name: "ocidx-koffi-at-run-time",
  setup(build) {
    build.onResolve({ filter: /^koffi$/ }, () => ({ path: "koffi", namespace: "ocidx-koffi-at-run-time" }))
    build.onLoad({ filter: /.*/, namespace: "ocidx-koffi-at-run-time" }, () => ({
      loader: "js",
      contents: 'module.exports = globalThis[Symbol.for("@ocidx/cli/runtimeRequire")]("koffi")'
    }))
  }
}

// The snapshot cannot load files when it runs (koffi, above, aside): src/snapshot.ts imports everything up
// front, so a dynamic import (Store.layerNode's, which it does not use) is dead code there. Resolving each to a module that throws
// also keeps esbuild from wrapping what it would import in lazy initialisers, which defeats tree shaking
// (the bundle would be a third larger).
const noDynamicImports = {
  name: "ocidx-no-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path, namespace: "ocidx-no-dynamic-import" } : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "ocidx-no-dynamic-import" }, (args) => ({
      loader: "js",
      contents: `throw new Error(${JSON.stringify(`ocidx: the snapshot cannot import ${args.path} on demand`)})`
    }))
  }
}

// effect computes the origin of Clock.currentTimeNanos (wall clock minus process.hrtime) when it is loaded,
// which for a snapshot is when it is built: a reboot later, the time would be off. Compute it on first use,
// and again after the snapshot is deserialized. The build fails (no snapshot) if effect's code has changed.
const clockOrigin = {
  from: [
    "  const origin = /*#__PURE__*/performanceNowNanos() - /*#__PURE__*/processHrtime.bigint();",
    "  return () => origin + processHrtime.bigint();"
  ].join("\n"),
  to: [
    "  let origin;",
    '  const { startupSnapshot } = require("node:v8");',
    "  if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.addDeserializeCallback(() => { origin = undefined; });",
    "  return () => {",
    "    if (origin === undefined) origin = BigInt(Date.now()) * BigInt(1_000_000) - processHrtime.bigint();",
    "    return origin + processHrtime.bigint();",
    "  };"
  ].join("\n")
}

const effectClock = {
  name: "ocidx-effect-clock",
  setup(build) {
    build.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]esm[\\/]internal[\\/]clock\.js$/ }, (args) => {
      const source = NodeFs.readFileSync(args.path, "utf8")
      if (!source.includes(clockOrigin.from)) {
        throw new Error(`${args.path} has changed: review the clock patch in scripts/snapshot.mjs`)
      }
      return { loader: "js", contents: source.replace(clockOrigin.from, clockOrigin.to) }
    })
  }
}

/** What bin/ocidx compares with the node it finds: `stat -L -c %d:%i:%s:%Y` of the binary. */
const nodeId = (path) => {
  const info = NodeFs.statSync(path, { bigint: true })
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs / 1_000_000_000n}`
}

/** The environment the snapshot is built and tried in: node options could change V8's flags and the blob. */
const cleanEnv = () => {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return env
}

// What node says while building any snapshot of the CLI: the stack trace limit is restored when the snapshot
// is deserialized; node:readline (which @effect/platform-node's terminal imports) is loaded, and used only at
// run time, to read keys for prompts. Anything else node says is shown.
const expectedNotices = [
  /^Deleting Error\.stackTraceLimit from the snapshot\. It will be re-installed after deserialization\n/m,
  /^\(node:\d+\) Warning: It's not yet fully verified whether built-in module "node:readline" works in user snapshot builder scripts\.\n.*\n.*\n(?:\(Use `node --trace-warnings .*\n)?/m
]

const withoutExpectedNotices = (text) => expectedNotices.reduce((rest, notice) => rest.replace(notice, ""), text)

/** Builds dist/snapshot/, or removes it with a warning. */
export const buildSnapshot = async (packageDir) => {
  // Built in place (the script's path is in the stack traces of the snapshot), node-id last: bin/ocidx uses
  // the blob only once node-id is there.
  const snapshotDir = NodePath.join(packageDir, "dist", "snapshot")
  const script = NodePath.join(snapshotDir, "ocidx.cjs")
  const blob = NodePath.join(snapshotDir, "ocidx.blob")
  NodeFs.rmSync(snapshotDir, { recursive: true, force: true })
  try {
    await build({
      absWorkingDir: packageDir,
      entryPoints: ["src/snapshot.ts"],
      outfile: script,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      conditions: ["@ocidx/source"],
      plugins: [koffiAtRunTime, noDynamicImports, effectClock],
      legalComments: "none",
      logLevel: "warning"
    })
    const built = ChildProcess.spawnSync(process.execPath, ["--snapshot-blob", blob, "--build-snapshot", script], {
      cwd: snapshotDir,
      env: cleanEnv(),
      encoding: "utf8"
    })
    process.stdout.write(withoutExpectedNotices(built.stdout ?? ""))
    process.stderr.write(withoutExpectedNotices(built.stderr ?? ""))
    if (built.status !== 0) throw new Error(`node --build-snapshot exited ${built.status ?? built.signal}`)

    // Tried: the version, and the help, which @effect/cli makes from the command tree in the snapshot.
    const version = JSON.parse(NodeFs.readFileSync(NodePath.join(packageDir, "package.json"), "utf8")).version
    const tryRun = (args, expected) => {
      const tried = ChildProcess.spawnSync(process.execPath, ["--snapshot-blob", blob, "--", ...args], {
        env: cleanEnv(),
        encoding: "utf8"
      })
      if (tried.status !== 0 || !expected(tried.stdout)) {
        throw new Error(
          `the snapshot does not run ocidx ${args.join(" ")}: exit ${tried.status ?? tried.signal}, ${tried.stderr}`
        )
      }
    }
    tryRun(["--version"], (stdout) => stdout === `${version}\n`)
    tryRun(["--help"], (stdout) => stdout.includes(`ocidx ${version}`) && stdout.includes("- ls [--json]"))
    const { platform, arch, execPath } = process
    NodeFs.writeFileSync(
      NodePath.join(snapshotDir, "node.json"),
      `${JSON.stringify({ version: process.version, platform, arch, execPath, id: nodeId(execPath) }, null, 2)}\n`
    )
    NodeFs.writeFileSync(NodePath.join(snapshotDir, "node-id"), `${nodeId(execPath)}\n`)
  } catch (error) {
    NodeFs.rmSync(snapshotDir, { recursive: true, force: true })
    process.emitWarning(`no start-up snapshot, so bin/ocidx will run the ESM bundle: ${error}`, "OcidxWarning")
  }
}
