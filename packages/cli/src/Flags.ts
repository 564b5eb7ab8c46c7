/**
 * The arguments and options several commands share, and the parsers behind them. A value @effect/cli can
 * reject while parsing (a duration, a platform, `k=v`) is a usage error (exit 2), reported once by
 * @effect/cli; digests and sizes are checked by the commands, because an invalid one is invalid data (65).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as MediaType from "@ocidx/core/MediaType"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as Platform from "@ocidx/core/Platform"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parseAnnotation, parseDuration } from "./Parse.js"

/**
 * The parsers of the values these flags check (in `Parse`, which the fast path shares).
 *
 * @since 0.1.0
 */
export { parseAnnotation, parseDuration } from "./Parse.js"

const usageError = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * An option value checked while parsing with `parse`; a bad one is a usage error (exit 2), naming `--flag`,
 * that @effect/cli prints once.
 *
 * @since 0.1.0
 * @category options
 */
export const parsedWith =
  <A>(parse: (text: string) => Either.Either<A, string>, flag: string) =>
  (text: string): Effect.Effect<A, ValidationError.ValidationError> =>
    Either.match(parse(text), {
      onLeft: (problem) => Effect.fail(usageError(`--${flag}: ${problem}`)),
      onRight: Effect.succeed
    })

const checkPositional = (value: string, allowStdin: boolean): Effect.Effect<string, HelpDoc.HelpDoc> =>
  value.startsWith("-") && !(allowStdin && value === "-")
    ? Effect.fail(HelpDoc.p(`unknown option ${Text.quote(value)}; run with --help to see the options`))
    : Effect.succeed(value)

/**
 * A positional argument. Anything starting with `-` here is an option @effect/cli did not recognise (it
 * would otherwise be taken as a value): reject it as a usage error. `-` alone is allowed where it means
 * standard input.
 *
 * @since 0.1.0
 * @category args
 */
export const positional = (name: string, description: string, options?: { readonly allowStdin?: boolean }) =>
  Args.text({ name }).pipe(
    Args.withDescription(description),
    Args.mapEffect((value) => checkPositional(value, options?.allowStdin === true))
  )

/**
 * A positional argument given `min` or more times, checked as `positional` checks one.
 *
 * @since 0.1.0
 * @category args
 */
export const positionals = (name: string, description: string, min: number) =>
  Args.text({ name }).pipe(
    Args.withDescription(description),
    (args) => (min === 0 ? Args.repeated(args) : Args.atLeast(args, min)),
    Args.mapEffect((values) => Effect.forEach(values, (value) => checkPositional(value, false)))
  )

/** An optional `--<name> <duration>` flag (`parseDuration`'s forms). */
const durationOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("duration"),
    Options.withDescription(description),
    Options.mapEffect(parsedWith(parseDuration, name)),
    Options.optional
  )

/**
 * The layout directory, the first argument of every command.
 *
 * @since 0.1.0
 * @category args
 */
export const directory = positional("dir", "The OCI image-layout directory.")

/**
 * `--lock-timeout`: how long to wait for the index lock. Accepted before the command name (global) and
 * after it; the command's own wins (see `withLockTimeout` in commands/Root.ts). Without either, the default
 * is `IndexLock.defaultTimeout`.
 *
 * @since 0.1.0
 * @category options
 */
export const lockTimeout = durationOption(
  "lock-timeout",
  "How long to wait for the index lock held by another process (e.g. buildkit): 500ms, 30s, 2m; 0 = do not wait. Default 30s."
)

/**
 * `--grace`: how old an unreferenced blob or temp file must be before gc removes it; parsed as
 * `--lock-timeout` is. Without it, core's default (one hour).
 *
 * @since 0.1.0
 * @category options
 */
export const grace = durationOption(
  "grace",
  "Keep unreferenced blobs and temp files younger than this (a put may be about to tag them): 30s, 10m, 2h; 0 = collect at once. Default 1h."
)

/**
 * `--json`: one JSON document on stdout.
 *
 * @since 0.1.0
 * @category options
 */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Print one JSON document on stdout instead of text.")
)

/**
 * `--platform os/arch[/variant]`.
 *
 * @since 0.1.0
 * @category options
 */
export const platform = (description: string) =>
  Options.text("platform").pipe(
    Options.withPseudoName("os/arch[/variant]"),
    Options.withDescription(description),
    Options.mapEffect(parsedWith<PlatformSelector>(Platform.parseSelector, "platform")),
    Options.optional
  )

/**
 * `--media-type`, defaulting to the OCI image manifest.
 *
 * @since 0.1.0
 * @category options
 */
export const mediaType = (description: string) =>
  Options.text("media-type").pipe(
    Options.withPseudoName("media-type"),
    Options.withDescription(description),
    Options.withDefault<string>(MediaType.ociManifest)
  )

/**
 * `--annotation k=v`, repeatable.
 *
 * @since 0.1.0
 * @category options
 */
export const annotations = Options.text("annotation").pipe(
  Options.withPseudoName("key=value"),
  Options.withDescription("An annotation to set on the entry; repeat for more."),
  Options.repeated,
  Options.mapEffect((values) => Effect.forEach(values, parsedWith(parseAnnotation, "annotation")))
)
