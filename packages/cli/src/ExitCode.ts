/**
 * The exit codes of `ocidx` (sysexits, so scripts can branch) and the mapping from every failure to one.
 * The table is a contract (DESIGN.md "Exit codes"): change it only through an issue.
 *
 * @since 0.1.0
 */
import type {
  ArchiveError,
  BlobNotFound,
  CredentialError,
  DecodeError,
  DigestMismatch,
  GraphError,
  ImageNotFound,
  InvalidReference,
  LockError,
  ReadError,
  RegistryError,
  UnreadableManifest,
  WriteError
} from "@ocidx/core/Errors"
import * as Text from "@ocidx/core/Text"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BrokenPipe, InvalidInput, NotFound, UsageError, UsageReported, VerifyFailed } from "./CliError.js"
import { Stdio } from "./Stdio.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** Not found (get/rm/cat of a name that is not there), or `verify` found errors. */
  notFound: 1,
  /** Usage error: bad flags or arguments. */
  usage: 2,
  /** Invalid data (EX_DATAERR): a `DecodeError`, a `GraphError` (a cycle or too deep), an invalid digest, size or reference given or found. */
  dataError: 65,
  /** Internal error (EX_SOFTWARE): a defect. */
  software: 70,
  /** I/O error (EX_IOERR): `ReadError`, `WriteError`, or a lock that cannot be taken on this file system. */
  ioError: 74,
  /** The lock was not acquired in time, or a registry's rate limit outlasted the retries (EX_TEMPFAIL): try again later. */
  tempFail: 75,
  /** A registry cannot be reached, or kept failing (5xx) after the retries (EX_UNAVAILABLE). */
  unavailable: 69,
  /** A registry answered something the distribution protocol does not allow (EX_PROTOCOL). */
  protocol: 76,
  /** Not allowed (EX_NOPERM): the registry refused the credentials, or there were none to give. */
  noPermission: 77,
  /** Interrupted by SIGINT (128 + 2). */
  sigint: 130,
  /** Stopped by SIGTERM (128 + 15). */
  sigterm: 143,
  /** Standard output closed by its reader, as if killed by SIGPIPE (128 + 13). */
  brokenPipe: 141
} as const

/**
 * @since 0.1.0
 * @category model
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * Everything a command can fail with.
 *
 * @since 0.1.0
 * @category model
 */
export type Failure =
  | LockError
  | ReadError
  | WriteError
  | DecodeError
  | InvalidReference
  | BlobNotFound
  | DigestMismatch
  | UnreadableManifest
  | GraphError
  | ImageNotFound
  | RegistryError
  | CredentialError
  | NotFound
  | UsageError
  | UsageReported
  | InvalidInput
  | VerifyFailed
  | BrokenPipe
  | ArchiveError

/**
 * The exit code for a failure.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromFailure = (failure: Failure): ExitCode => {
  switch (failure._tag) {
    case "NotFound":
    case "BlobNotFound":
    case "ImageNotFound":
      return ExitCode.notFound
    case "RegistryError":
      return registryCodes[failure.reason]
    case "CredentialError":
      return credentialCodes[failure.reason]
    case "VerifyFailed":
      return failure.lockBusy ? ExitCode.tempFail : ExitCode.notFound
    case "UsageError":
    case "UsageReported":
      return ExitCode.usage
    case "DecodeError":
    case "InvalidReference":
    case "DigestMismatch":
    case "UnreadableManifest":
    case "GraphError":
    case "InvalidInput":
    case "ArchiveError":
      return ExitCode.dataError
    case "ReadError":
    case "WriteError":
      return ExitCode.ioError
    case "LockError":
      // Only a busy lock is worth retrying; a read-only or forbidden lock file is an I/O problem.
      return failure.reason === "timeout" ? ExitCode.tempFail : ExitCode.ioError
    case "BrokenPipe":
      return ExitCode.brokenPipe
  }
}

// A config file that cannot be read or written is I/O, an invalid one (or name) is bad data; a helper that
// fails, or nowhere to keep credentials, leaves none to give: not allowed.
const credentialCodes: Record<CredentialError["reason"], ExitCode> = {
  io: ExitCode.ioError,
  invalid: ExitCode.dataError,
  helper: ExitCode.noPermission,
  "no-config": ExitCode.noPermission
}

const registryCodes: Record<RegistryError["reason"], ExitCode> = {
  unauthorized: ExitCode.noPermission,
  denied: ExitCode.noPermission,
  "not-found": ExitCode.notFound,
  "digest-mismatch": ExitCode.dataError,
  "rate-limited": ExitCode.tempFail,
  unavailable: ExitCode.unavailable,
  protocol: ExitCode.protocol,
  "too-large": ExitCode.dataError
}

/**
 * What to tell the user about a failure, or `None` when it has been told already (`Cli.run` prints the
 * usage errors @effect/cli finds as it parses, `UsageReported`, and a reader that closed stdout wants silence). `command` is
 * the subcommand that failed (`gc`, `blob put`), so a hint names only flags it has.
 *
 * @since 0.1.0
 * @category conversions
 */
export const messageOf = (failure: Failure, command?: string): Option.Option<string> => {
  if (failure._tag === "UsageReported" || failure._tag === "BrokenPipe") return Option.none()
  const hint = hintOf(failure, command)
  // Messages quote what they echo; escaping each line again is the last guard that no control character
  // from a file or an argument reaches the terminal (escaping escaped text changes nothing).
  const message = failure.message.split("\n").map(Text.escapeControls).join("\n")
  return Option.some(hint === undefined ? message : `${message} ${hint}`)
}

// The commands that take --force; a hint never suggests a flag the command that failed does not have.
const forceCommands: ReadonlySet<string> = new Set(["gc", "prune"])

/**
 * What the command line adds to a core error's message: core speaks library terms, and only the CLI knows
 * its own flags and commands. `command` is the subcommand that failed, as for `messageOf`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const hintOf = (failure: Failure, command?: string): string | undefined => {
  switch (failure._tag) {
    case "LockError":
      if (failure.reason === "timeout") return "Raise --lock-timeout to wait longer."
      return failure.reason === "not-found" ? "Create it with `ocidx init`." : undefined
    case "ReadError":
    case "WriteError":
      return failure.reason === "not-found" ? "A new layout is created with `ocidx init`." : undefined
    case "BlobNotFound":
      return "`ocidx blob put` adds a blob."
    case "UnreadableManifest":
      // Only gc and prune refuse it (`ls --sizes` fails too, and has no --force).
      return failure.operation === "gc" || failure.operation === "prune" ? "Pass --force to collect anyway." : undefined
    case "DecodeError":
      // Only gc refuses a blank index.json; everything else reads it as empty.
      return failure.reason === "blank" ? "Pass --force to collect anyway." : undefined
    case "GraphError":
      // get, cat, ls --sizes, copy and verify meet it too; only gc and prune can go on past it.
      return failure.reason === "too-deep" && command !== undefined && forceCommands.has(command)
        ? "Pass --force to collect anyway."
        : undefined
    case "RegistryError":
      return failure.tls === true
        ? "For a registry whose certificate a private CA signed, pass --ca-file with that CA; for one without TLS, or to accept any certificate, --insecure."
        : undefined
    case "ImageNotFound":
      return failure.reason === "no-entry" && failure.location.startsWith("oci:")
        ? "List the entries with `ocidx ls`."
        : undefined
    default:
      return undefined
  }
}

/**
 * How a run ended: the exit code and the message for standard error, if any.
 *
 * @since 0.1.0
 * @category model
 */
export interface Outcome {
  readonly code: ExitCode
  readonly message: Option.Option<string>
}

/**
 * The outcome of a run that failed. A defect (a bug, not a domain error) is exit 70 with the full cause
 * and a request for a bug report; interruption is exit 130 here, and `Process.ts`, which sees the signal,
 * exits with its own code (130 for SIGINT, 143 for SIGTERM).
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromCause = (cause: Cause.Cause<Failure>, command?: string): Outcome => {
  if (Cause.isInterruptedOnly(cause)) return { code: ExitCode.sigint, message: Option.none() }
  if (Cause.isDie(cause)) return { code: ExitCode.software, message: Option.some(defectMessage(cause)) }
  return Option.match(Cause.failureOption(cause), {
    onNone: () => ({ code: ExitCode.software, message: Option.some(defectMessage(cause)) }),
    onSome: (failure) => ({ code: fromFailure(failure), message: messageOf(failure, command) })
  })
}

/**
 * The text printed for a defect: what happened, and what to do about it.
 *
 * @since 0.1.0
 * @category conversions
 */
export const defectMessage = (cause: Cause.Cause<unknown>): string =>
  `internal error (a bug in ocidx): ${Cause.pretty(cause)}\n` +
  "Please report a bug with the command you ran and this message. Every write is atomic, so the layout holds " +
  "either the old or the new index.json."

/**
 * Runs a command and ends it as every run of `ocidx` ends: the exit code, after the message of its failure,
 * if any, on standard error. `command` is the subcommand, as for `messageOf`.
 *
 * @since 0.1.0
 * @category running
 */
export const report = <R>(
  self: Effect.Effect<void, Failure, R>,
  command?: string
): Effect.Effect<ExitCode, never, R | Stdio> =>
  self.pipe(
    Effect.as<Outcome>({ code: ExitCode.ok, message: Option.none() }),
    Effect.catchAllCause((cause) => Effect.succeed(fromCause(cause, command))),
    Effect.tap((outcome) =>
      Option.match(outcome.message, {
        onNone: () => Effect.void,
        onSome: (message) => Effect.flatMap(Stdio, (stdio) => stdio.err(`ocidx: ${message}\n`))
      })
    ),
    Effect.map((outcome) => outcome.code)
  )
