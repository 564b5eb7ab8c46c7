/**
 * Bundles the child-process programs in `workers/` with esbuild, once per test run, into a temp directory:
 * Node 20 cannot run TypeScript, and a bundle starts faster than anything that compiles on the fly.
 *
 * Used as the node project's vitest `globalSetup`: `setup` bundles and provides the directory to the tests
 * (`inject("ocidxWorkersDir")`); the teardown it returns removes it.
 */
import * as NodeFs from "node:fs/promises"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { build, type Plugin } from "esbuild"
import type { TestProject } from "vitest/node"
import { workerNames } from "./workerScripts.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** Where the bundled workers are: `<dir>/<name>.mjs`. */
    ocidxWorkersDir: string
  }
}

const workersSource = NodePath.join(NodePath.dirname(fileURLToPath(import.meta.url)), "workers")

/**
 * koffi is a native module, loaded from node_modules at run time (and only when a lock is taken). The bundles
 * live in a temp directory, where a bare `koffi` would not resolve: import it by its absolute path instead.
 */
const koffiByPath: Plugin = {
  name: "koffi-by-path",
  setup(plugin) {
    const koffiPath = createRequire(import.meta.url).resolve("koffi")
    plugin.onResolve({ filter: /^koffi$/ }, () => ({ path: koffiPath, external: true }))
  }
}

/** Bundles every worker into `outdir` (as packages/cli/scripts/bundle.mjs bundles the CLI). */
export const bundleWorkers = async (outdir: string): Promise<void> => {
  await build({
    entryPoints: workerNames.map((name) => NodePath.join(workersSource, `${name}.ts`)),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@ocidx/source"],
    plugins: [koffiByPath],
    banner: {
      // Bundled CommonJS dependencies may call require(); give them one.
      js: "import { createRequire as __ocidxCreateRequire } from 'node:module'; const require = __ocidxCreateRequire(import.meta.url);"
    },
    legalComments: "none",
    logLevel: "warning"
  })
}

/** vitest globalSetup: bundle once, provide the directory, remove it at the end. */
export const setup = async (project: TestProject): Promise<() => Promise<void>> => {
  const dir = await NodeFs.mkdtemp(NodePath.join(NodeOs.tmpdir(), "ocidx-workers-"))
  await bundleWorkers(dir)
  project.provide("ocidxWorkersDir", dir)
  return () => NodeFs.rm(dir, { recursive: true, force: true })
}
