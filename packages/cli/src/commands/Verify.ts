/**
 * `ocidx verify <dir> [--json] [--strict]`: checks the layout (index, manifests, blob digests and sizes)
 * and reports; changes nothing. Exit 1 when there is an error.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { VerifyFailed } from "../CliError.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "../actions/Layout.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const verify = Command.make(
  "verify",
  {
    directory: Flags.directory,
    json: Flags.json,
    strict: Options.boolean("strict").pipe(
      Options.withDescription("Treat referenced blobs that are missing as errors, not warnings.")
    ),
    lockTimeout: Flags.lockTimeout
  },
  ({ directory, json, strict }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const report = yield* Progress.withProgress((progress) =>
        layout.verify({ strict, onProgress: Progress.counter(progress, "verifying blobs") })
      )
      yield* stdio.out(json ? Output.json(Output.verifyJson(report)) : Output.verifyText(directory, report))
      if (!report.ok) {
        return yield* new VerifyFailed({
          errors: report.findings.filter((finding) => finding.severity === "error").length,
          lockBusy: report.findings.some((finding) => finding.code === "index-locked")
        })
      }
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Check the layout: index.json, every reachable manifest and index, and every blob's digest and size. Changes nothing; exit 1 on errors."
  )
)
