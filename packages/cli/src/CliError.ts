/**
 * The CLI's own failures, beside the core's domain errors: a name that is not in the index, a usage error
 * found after parsing or by the parser (already printed), an invalid argument value, a verify that found
 * errors, and a closed stdout.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Nothing in the layout answers to what was asked for (exit 1).
 *
 * @since 0.1.0
 * @category error
 */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string }> {}

/**
 * Flags or arguments that do not fit together (exit 2). @effect/cli reports its own parse errors; this is
 * for the rules it cannot express, such as "--digest or --descriptor", and for a word that names no command.
 *
 * @since 0.1.0
 * @category error
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/**
 * A usage error @effect/cli found while parsing, already printed with its help (exit 2, nothing more to say).
 *
 * @since 0.1.0
 * @category error
 */
export class UsageReported extends Data.TaggedError("UsageReported")<{}> {}

/**
 * A digest, size or other value given on the command line that is not valid data (exit 65).
 *
 * @since 0.1.0
 * @category error
 */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{ readonly message: string }> {}

/**
 * `verify` found errors; the report has been printed (exit 1). When the index lock could not be taken in
 * time (`lockBusy`), nothing was really checked: that is exit 75, as for every other command.
 *
 * @since 0.1.0
 * @category error
 */
export class VerifyFailed extends Data.TaggedError("VerifyFailed")<{
  readonly errors: number
  readonly lockBusy: boolean
}> {
  override get message(): string {
    return this.lockBusy
      ? "verify could not read index.json: another process holds the lock. Try again later, or raise --lock-timeout."
      : `verify found ${this.errors} error${this.errors === 1 ? "" : "s"}; see the findings above.`
  }
}

/**
 * Standard output was closed by its reader (`ocidx blob get ... | head`): stop quietly.
 *
 * @since 0.1.0
 * @category error
 */
export class BrokenPipe extends Data.TaggedError("BrokenPipe")<{}> {}
