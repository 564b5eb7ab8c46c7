#!/usr/bin/env node
/**
 * The `ocidx` executable when it starts from the ESM bundle (`bin/ocidx.mjs`; see `snapshot.ts` for the V8
 * start-up snapshot that `bin/ocidx` prefers). It wires the standard streams and the Node store into
 * `Cli.run`, and turns the outcome into the exit code (`main.ts`).
 *
 * Start-up loads only what the command needs: `ocidx --version` is answered before Effect is loaded, and the
 * store (with the native flock binding) is loaded by the first command that opens a layout.
 *
 * @since 0.1.0
 */
import { version } from "./version.js"

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${version}\n`)
} else {
  const [{ main }, Store] = await Promise.all([import("./main.js"), import("./Store.js")])
  main(process.argv, Store.layerNode)
}
