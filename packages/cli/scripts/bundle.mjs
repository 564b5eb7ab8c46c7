// Bundles the CLI into ESM files under dist/. Workspace packages are read from their TypeScript sources
// (the "@ocidx/source" export condition), so the bundle needs no tsc build first. Code splitting keeps
// start-up cheap: what only some commands need (the store and its lock) is a separate chunk loaded on demand,
// and koffi is imported only when a lock is taken, so `ocidx --version` never loads a native module.
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const packageDir = NodePath.dirname(NodePath.dirname(fileURLToPath(import.meta.url)))
const outdir = NodePath.join(packageDir, "dist")

// Chunks are content-hashed: remove the old ones so dist/ holds exactly one build.
NodeFs.rmSync(NodePath.join(outdir, "chunks"), { recursive: true, force: true })
// What older builds made: the V8 start-up snapshot that bin/ocidx no longer uses.
NodeFs.rmSync(NodePath.join(outdir, "snapshot"), { recursive: true, force: true })

await build({
  absWorkingDir: packageDir,
  entryPoints: { ocidx: "src/bin.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@ocidx/source"],
  // koffi (flock through libc) is a native module: it must be loaded from node_modules at run time.
  external: ["koffi"],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __ocidxCreateRequire } from 'node:module'; const require = __ocidxCreateRequire(import.meta.url);"
  },
  legalComments: "none",
  logLevel: "warning"
})
