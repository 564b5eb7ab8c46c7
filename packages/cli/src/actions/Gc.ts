/**
 * What `ocidx gc` does once its arguments are parsed, shared by its @effect/cli command (commands/Gc.ts) and
 * the fast path (`FastPath.ts`): removes the blobs nothing in index.json reaches, once older than the grace
 * period, and reports them.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

/**
 * @since 0.1.0
 * @category model
 */
export interface GcConfig {
  readonly directory: string
  readonly dryRun: boolean
  readonly json: boolean
  readonly force: boolean
  /** `None`: the layout's default grace period. */
  readonly grace: Option.Option<Duration.Duration>
}

/**
 * `ocidx gc`.
 *
 * @since 0.1.0
 * @category actions
 */
export const gc = ({ directory, dryRun, force, grace, json }: GcConfig) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const layout = yield* openLayout(directory)
    const report = yield* Progress.withProgress((progress) =>
      layout.gc({
        dryRun,
        force,
        grace: Option.getOrUndefined(grace),
        onProgress: Progress.counter(progress, dryRun ? "checking blobs" : "removing blobs")
      })
    )
    yield* stdio.out(json ? Output.json(Output.gcJson(report)) : Output.gcText(directory, report))
  })
