// Bundles the CLI into one ESM file. Workspace packages are read from their TypeScript sources
// (the "@ocidx/source" export condition), so the bundle needs no tsc build first.
import { build } from "esbuild"

await build({
  entryPoints: ["src/bin.ts"],
  outfile: "dist/ocidx.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@ocidx/source"],
  // fs-ext is a native addon: it must be loaded from node_modules at run time.
  external: ["fs-ext"],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __ocidxCreateRequire } from 'node:module'; const require = __ocidxCreateRequire(import.meta.url);"
  },
  legalComments: "none",
  logLevel: "warning"
})
