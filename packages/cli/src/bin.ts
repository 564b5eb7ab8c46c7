#!/usr/bin/env node
/**
 * The `ocidx` executable: the ESM bundle's entry (`bin/ocidx.mjs`, which the npm bin `bin/ocidx` runs), and
 * its one entry point. The plain command lines of `ls`, `get`, `put`, `verify`, `gc` and `blob put` take the
 * fast path (`FastPath.ts`), which does not load @effect/cli; everything else, and anything the fast path is unsure of, goes to
 * `main.ts`, the whole command tree on @effect/cli. Either way a command runs the same code (`actions/`),
 * ends the same way (`ExitCode.report`) and meets the process the same way (`Process.run`).
 *
 * Start-up loads only what the command needs: `ocidx --version` is answered before Effect is loaded, and the
 * store (with the native flock binding) is loaded by the first command that opens a layout. On Node 22.1+ the
 * rest is compiled from node's on-disk compile cache (`module.enableCompileCache`), which makes a start about
 * as cheap as a V8 start-up snapshot without building one per node binary.
 *
 * @since 0.1.0
 */
import * as NodeModule from "node:module"
import { version } from "./version.js"

/**
 * Turns on node's compile cache (Node 22.1+; in the directory NODE_COMPILE_CACHE names, or node's own under the
 * temporary directory; NODE_DISABLE_COMPILE_CACHE turns it off). It covers the modules loaded after this call,
 * so the bundle's chunks are imported below, dynamically. Node 20 has no such cache: nothing happens there.
 * Node reports a cache it cannot use in the returned status and never throws for it; the command runs either way.
 */
const enableCompileCache = (): void => {
  // Read through Reflect: @types/node for Node 20, the oldest node ocidx supports, does not declare it.
  const enable: unknown = Reflect.get(NodeModule, "enableCompileCache")
  if (typeof enable === "function") enable.call(NodeModule)
}

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${version}\n`)
} else {
  enableCompileCache()
  const [FastPath, Store] = await Promise.all([import("./FastPath.js"), import("./Store.js")])
  const plan = FastPath.recognise(args)
  if (plan !== undefined) {
    FastPath.main(plan, Store.layerNode)
  } else {
    const { main } = await import("./main.js")
    main(process.argv, Store.layerNode)
  }
}
