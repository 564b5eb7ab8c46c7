// esbuild settings shared by bench/run.mjs and bench/profile.mjs: bench programs, workers and the ocidx CLI are
// bundled into a temp directory (Node 20 cannot run TypeScript), reading workspace packages from their sources.
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

export const benchDir = NodePath.dirname(NodePath.dirname(fileURLToPath(import.meta.url)))
export const root = NodePath.dirname(benchDir)

// koffi (flock through libc) is a native module: the bundles live in a temp directory, so import it by its
// absolute path.
const koffiPath = createRequire(import.meta.url).resolve("koffi")

const baseOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@ocidx/source"],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __ocidxCreateRequire } from 'node:module'; const require = __ocidxCreateRequire(import.meta.url);"
  },
  outExtension: { ".js": ".mjs" },
  legalComments: "none",
  logLevel: "warning"
}

/**
 * The plugins: koffi by absolute path, and with `srcRoot`, @ocidx/core and @ocidx/node (by package name or by a
 * relative path into packages/{core,node}/src) taken from another tree, e.g. an older commit extracted with
 * `git archive <commit> packages | tar -x -C <dir>`: the same bench, workers and CLI then measure that library.
 */
const pluginsFor = (srcRoot) => [
  {
    name: "ocidx-bench",
    setup(plugin) {
      plugin.onResolve({ filter: /^koffi$/ }, () => ({ path: koffiPath, external: true }))
      if (srcRoot === undefined) return
      const fromTree = (pkg, subpath) => {
        const file = NodePath.join(srcRoot, "packages", pkg, "src", `${subpath}.ts`)
        if (!NodeFs.existsSync(file)) throw new Error(`${file} does not exist in --src tree ${srcRoot}`)
        return { path: file }
      }
      plugin.onResolve({ filter: /^@ocidx\/(core|node)(\/.*)?$/ }, (args) => {
        const [, pkg, subpath] = /^@ocidx\/(core|node)(?:\/(.*))?$/.exec(args.path) ?? []
        return fromTree(pkg, subpath ?? "index")
      })
      plugin.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = NodePath.resolve(args.resolveDir, args.path)
        for (const pkg of ["core", "node"]) {
          const src = `${NodePath.join(root, "packages", pkg, "src")}${NodePath.sep}`
          if (target.startsWith(src)) return fromTree(pkg, target.slice(src.length).replace(/\.js$/, ""))
        }
        return undefined
      })
    }
  }
]

// A tree outside this repository has no node_modules: its imports of effect and the rest resolve from ours.
const treeOptions = (srcRoot) => ({
  plugins: pluginsFor(srcRoot),
  ...(srcRoot === undefined ? {} : { nodePaths: [NodePath.join(root, "node_modules")] })
})

/** Bundles each entry point into `outdir` as `<name>.mjs`. */
export const bundle = (entryPoints, outdir, srcRoot) =>
  build({ ...baseOptions, ...treeOptions(srcRoot), entryPoints, outdir })

/**
 * Bundles the CLI from packages/cli/src as packages/cli/scripts/bundle.mjs does (split, so start-up loads only
 * what a command needs) and returns the entry point. packages/cli/dist is left alone.
 */
export const bundleCli = async (outdir, srcRoot) => {
  await build({
    ...baseOptions,
    ...treeOptions(srcRoot),
    entryPoints: { ocidx: NodePath.join(root, "packages/cli/src/bin.ts") },
    outdir,
    chunkNames: "chunks/[name]-[hash]",
    splitting: true
  })
  return NodePath.join(outdir, "ocidx.mjs")
}

/**
 * Which ocidx the bench runs:
 * - `--cli=built`: packages/cli/bin/ocidx, which must have been built (`npm run build -w @ocidx/cli`);
 * - `--cli=<file>`: that file (a .mjs/.js/.cjs file runs under the bench's node, anything else directly);
 * - by default, packages/cli/bin/ocidx when packages/cli/dist was built from the current sources (its newest file
 *   is no older than the newest source file); else, and
 *   always with `--src`, a bundle of packages/cli/src made in the run's temp directory (`kind: "bundle"`).
 */
export const chooseCli = ({ cliArg, srcRoot }) => {
  const launcher = NodePath.join(root, "packages/cli/bin/ocidx")
  const dist = NodePath.join(root, "packages/cli/dist")
  const newestIn = (dir) => {
    let newest = 0
    if (!NodeFs.existsSync(dir)) return newest
    for (const entry of NodeFs.readdirSync(dir, { withFileTypes: true })) {
      const file = NodePath.join(dir, entry.name)
      if (entry.isDirectory()) newest = Math.max(newest, newestIn(file))
      else if (entry.isFile()) newest = Math.max(newest, NodeFs.statSync(file).mtimeMs)
    }
    return newest
  }
  const built = () => NodeFs.existsSync(launcher) && newestIn(dist) > 0
  const current = () =>
    built() &&
    newestIn(dist) >=
      Math.max(...["core", "node", "cli"].map((pkg) => newestIn(NodePath.join(root, "packages", pkg, "src"))))
  const describeBuilt = () => `packages/cli/bin/ocidx (built${current() ? "" : ", OLDER than the sources"})`
  if (cliArg === "built") {
    if (!built()) return { error: "--cli=built: packages/cli/dist is missing; run `npm run build -w @ocidx/cli` first" }
    return { kind: "file", path: launcher, label: describeBuilt() }
  }
  if (cliArg !== undefined) return { kind: "file", path: NodePath.resolve(cliArg), label: cliArg }
  if (srcRoot === undefined && current()) return { kind: "file", path: launcher, label: describeBuilt() }
  return {
    kind: "bundle",
    label: `ESM bundle of packages/cli/src made here${srcRoot === undefined ? " (packages/cli/dist is missing or older than the sources: `npm run build -w @ocidx/cli` to measure the built command)" : ""}`
  }
}
