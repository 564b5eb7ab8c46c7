/**
 * What `ocidx verify` does once its arguments are parsed, shared by its @effect/cli command
 * (commands/Verify.ts) and the fast path (`FastPath.ts`): checks the layout and reports; changes nothing.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { VerifyFailed } from "../CliError.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

/**
 * @since 0.1.0
 * @category model
 */
export interface VerifyConfig {
  readonly directory: string
  readonly json: boolean
  readonly strict: boolean
}

/**
 * `ocidx verify`: fails with `VerifyFailed` (exit 1) when the report has an error.
 *
 * @since 0.1.0
 * @category actions
 */
export const verify = ({ directory, json, strict }: VerifyConfig) =>
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
