/**
 * The parsers behind the flags whose values are checked while parsing (a bad one is a usage error, exit 2):
 * durations and annotations. Apart from `Flags`, so that the fast path (`FastPath.ts`) parses with the same
 * code without loading @effect/cli.
 *
 * @since 0.1.0
 */
import * as Text from "@ocidx/core/Text"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/

/**
 * Parses a lock timeout: `0`, or a number with a unit, `500ms`, `30s`, `2m`, `1h`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const trimmed = text.trim()
  if (/^0+(?:\.0+)?$/.test(trimmed)) return Either.right(Duration.zero)
  const match = durationPattern.exec(trimmed)
  if (!match) {
    return Either.left(
      `${Text.quote(text)} is not a duration: use 0 (do not wait) or a number with a unit, e.g. 500ms, 30s, 2m or 1h`
    )
  }
  const amount = Number(match[1])
  switch (match[2]) {
    case "ms":
      return Either.right(Duration.millis(amount))
    case "s":
      return Either.right(Duration.seconds(amount))
    case "m":
      return Either.right(Duration.minutes(amount))
    default:
      return Either.right(Duration.hours(amount))
  }
}

/**
 * Parses an annotation given as `key=value` (the value may be empty and may contain `=`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAnnotation = (text: string): Either.Either<readonly [string, string], string> => {
  const equals = text.indexOf("=")
  // No key before "=" (`k`, `=x`) is a flag not in its key=value form, a usage error (2) as `--platform linux`
  // is; a key in that form that the spec does not allow is invalid data given (65), checked by `put`.
  if (equals <= 0)
    return Either.left(`${Text.quote(text)} is not an annotation: use key=value, e.g. org.example.team=infra`)
  return Either.right([text.slice(0, equals), text.slice(equals + 1)] as const)
}

/**
 * Parses `--size`: a whole number of bytes from 0 to 2^53-1, in decimal. (Checked by `put`, not while
 * parsing: an invalid size is invalid data, exit 65.)
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseSize = (text: string): Option.Option<number> => {
  if (!/^\d+$/.test(text)) return Option.none()
  const size = Number(text)
  return Number.isSafeInteger(size) ? Option.some(size) : Option.none()
}
