/**
 * Builds the CLI bundle once per test run when it is missing or older than any source it is made from, so the
 * end-to-end tests always spawn what the sources say. `npm test` builds it before vitest anyway.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const cliDir = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../..")
const packagesDir = NodePath.dirname(cliDir)
const outputs = [NodePath.join(cliDir, "dist", "ocidx.mjs")]

const newestMtime = (path: string): number => {
  const info = NodeFs.statSync(path)
  if (!info.isDirectory()) return info.mtimeMs
  return NodeFs.readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(NodePath.join(path, name))), 0)
}

export default function setup(): void {
  const sources = [
    NodePath.join(packagesDir, "core", "src"),
    NodePath.join(packagesDir, "node", "src"),
    NodePath.join(cliDir, "src"),
    NodePath.join(cliDir, "scripts")
  ]
  const built = Math.min(...outputs.map((output) => (NodeFs.existsSync(output) ? NodeFs.statSync(output).mtimeMs : 0)))
  if (built > 0 && sources.every((dir) => newestMtime(dir) <= built)) return
  ChildProcess.execFileSync(process.execPath, [NodePath.join(cliDir, "scripts", "bundle.mjs")], {
    cwd: cliDir,
    stdio: "inherit"
  })
}
