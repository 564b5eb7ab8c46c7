/**
 * A progress line on standard error, redrawn in place with `\r`, shown only when standard error is a
 * terminal (never in pipes, logs or CI output) and at most ten times a second.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Stdio } from "./Stdio.js"

/**
 * @since 0.1.0
 * @category model
 */
export interface Progress {
  /** Redraws the line with `text`, unless it was drawn less than 100 ms ago (the last update always shows). */
  readonly update: (text: string, options?: { readonly force?: boolean }) => Effect.Effect<void>
  /** Clears the line, if one was drawn. */
  readonly clear: Effect.Effect<void>
}

const interval = 100
const clearLine = "\r\u001b[K"

/**
 * A progress line; a no-op unless standard error is a terminal.
 *
 * @since 0.1.0
 * @category constructor
 */
export const make: Effect.Effect<Progress, never, Stdio> = Effect.gen(function* () {
  const stdio = yield* Stdio
  if (!stdio.errIsTTY) return { update: () => Effect.void, clear: Effect.void }
  let drawnAt: number | undefined
  return {
    update: (text, options) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (options?.force !== true && drawnAt !== undefined && now - drawnAt < interval) return Effect.void
        drawnAt = now
        return stdio.err(`${clearLine}${text}`)
      }),
    clear: Effect.suspend(() => (drawnAt === undefined ? Effect.void : stdio.err(clearLine)))
  }
})

/**
 * Runs `f` with a progress line that is cleared when `f` ends, however it ends.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withProgress = <A, E, R>(
  f: (progress: Progress) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Stdio> => Effect.acquireUseRelease(make, f, (progress) => progress.clear)

/**
 * A `(done, total)` callback as `Layout.verify` and `Layout.gc` take, drawing `label done/total`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const counter =
  (progress: Progress, label: string) =>
  (done: number, total: number): Effect.Effect<void> =>
    progress.update(`${label} ${done}/${total}`, { force: done === total })
