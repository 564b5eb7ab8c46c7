/**
 * The entry of the V8 start-up snapshot (`dist/snapshot/ocidx.blob`, built by `scripts/snapshot.mjs` for the
 * node that runs the build, and started by `bin/ocidx`). Building the snapshot evaluates every module of
 * the CLI, the layout store included, so a run starts with Effect, @effect/cli and the command tree already
 * in the heap and goes straight to `main`, as `bin.ts` does after loading them.
 *
 * Everything about the process (arguments, environment, streams, cwd, signals) is read in the deserialized
 * main function, never while the snapshot is built. A snapshot can hold no native module: koffi (flock through
 * libc) is imported when the first lock is taken, and the bundle loads it then with the `require` set here
 * for each run.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as v8 from "node:v8"
import { main } from "./main.js"
import * as NodeStore from "./internal/nodeStore.js"
import * as Store from "./Store.js"
import { version } from "./version.js"

/** Where the snapshot's koffi module (scripts/snapshot.mjs) finds the `require` of this run. */
const runtimeRequire = Symbol.for("@ocidx/cli/runtimeRequire")

// Store.layerNode imports the store on first use; the snapshot holds it already.
const store = Store.layerLazy(NodeStore.make)

/** The blob this process started from, from `--snapshot-blob <path>` among node's own options. */
const blobPath = (execArgv: ReadonlyArray<string>): string => {
  for (let i = 0; i < execArgv.length; i++) {
    const option = execArgv[i]
    if (option === "--snapshot-blob") return execArgv[i + 1] ?? ""
    if (option?.startsWith("--snapshot-blob=")) return option.slice("--snapshot-blob=".length)
  }
  throw new Error("ocidx: started from a snapshot without --snapshot-blob")
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // The blob is <package>/dist/snapshot/ocidx.blob, maybe reached through symlinks. koffi is resolved from
  // dist/, as the ESM bundle resolves it.
  const packageDir = NodePath.resolve(NodeFs.realpathSync(blobPath(process.execArgv)), "..", "..", "..")
  // The snapshot's own require loads built-in modules only; node:module is loaded here, at run time, because
  // node does not vouch for it in a snapshot.
  const { createRequire } = require("node:module") as typeof import("node:module")
  Object.defineProperty(globalThis, runtimeRequire, {
    value: createRequire(NodePath.join(packageDir, "dist", "ocidx.mjs")),
    configurable: true
  })
  // node takes the arguments after `--` for the program's, with no script before them: put back the one
  // the ESM bundle would have, so that @effect/cli sees the same argv.
  const argv = [process.execPath, NodePath.join(packageDir, "bin", "ocidx.mjs"), ...process.argv.slice(1)]
  if (argv.length === 3 && argv[2] === "--version") {
    process.stdout.write(`${version}\n`)
  } else {
    // copy, pull, push, login and logout load the HTTP client on demand, which node cannot hold in a snapshot:
    // bin/ocidx starts them from the ESM bundle, so their dynamic imports are never reached here.
    main(argv, store)
  }
})
