/**
 * verify (fsck): checks `oci-layout`, `index.json`, every blob reachable from it, and what else lies under
 * `blobs/`. It reports and never changes anything; every problem is a `Finding`, never a failure. The
 * index lock is held (shared) only while index.json is read, not while blobs are hashed.
 *
 * Each phase lives in `./verify/` and returns its findings; this module runs them in order and concatenates.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Hasher } from "../Hasher.js"
import type { VerifyOptions, VerifyReport } from "../Layout.js"
import type { Deps } from "./gc.js"
import * as Blobs from "./verify/blobs.js"
import * as Graph from "./verify/graph.js"
import * as IndexFile from "./verify/indexFile.js"
import * as LayoutFile from "./verify/layoutFile.js"
import * as Scan from "./verify/scan.js"

/** @internal */
export const run = (deps: Deps, options: VerifyOptions): Effect.Effect<VerifyReport, never, Hasher> =>
  Effect.gen(function* () {
    const { blobs, fs, path } = deps
    const strict = options.strict ?? false

    const layoutFile = yield* LayoutFile.check(deps.files, path.join(deps.directory, "oci-layout"))
    const indexFile = yield* IndexFile.check(deps.index)
    const graph = yield* Graph.walk(deps.files, blobs, indexFile.index, { indexPath: deps.index.indexPath, strict })
    const blobsCheck = yield* Blobs.check(deps.files, blobs, graph, { strict, onProgress: options.onProgress })
    const scan = yield* Scan.check(fs, deps.files, path, path.join(deps.directory, "blobs"), {
      reachable: Option.as(indexFile.index, graph.reachable),
      incomplete: graph.incomplete
    })

    const findings = [...layoutFile, ...indexFile.findings, ...graph.findings, ...blobsCheck.findings, ...scan]
    let bytesChecked = 0
    for (const size of blobsCheck.checked.values()) bytesChecked += size
    const report: VerifyReport = {
      ok: findings.every((finding) => finding.severity !== "error"),
      findings,
      blobsChecked: blobsCheck.checked.size,
      bytesChecked
    }
    return report
  }).pipe(Effect.withSpan("Layout.verify", { attributes: { directory: deps.directory } }))
