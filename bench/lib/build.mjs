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
