/**
 * The errors ocidx reports. Each is tagged data: the file it concerns, a reason a program can branch on,
 * the original cause, and a message that tells a person what to do.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as Schema from "effect/Schema"
import * as platformError from "./internal/platformError.js"
import { escapeControls, quote } from "./Text.js"

/**
 * @since 0.1.0
 * @category model
 */
export const LockReason = Schema.Literal(
  "timeout",
  "read-only",
  "permission",
  "not-found",
  "unsupported",
  "symlink",
  "io"
)

/**
 * @since 0.1.0
 * @category model
 */
export type LockReason = typeof LockReason.Type

/**
 * The index lock could not be taken.
 *
 * @since 0.1.0
 * @category error
 */
export class LockError extends Schema.TaggedError<LockError>("@ocidx/core/LockError")("LockError", {
  path: Schema.String,
  reason: LockReason,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    switch (this.reason) {
      case "timeout":
        return `${escapeControls(this.path)}: another process holds the lock; gave up waiting. Try again later, or allow a longer lock timeout.`
      case "read-only":
        return `${escapeControls(this.path)}: cannot lock for writing because the file system is read-only. Copy the layout somewhere writable.`
      case "permission":
        return `${escapeControls(this.path)}: permission denied while taking the lock. Check the directory's owner and mode.`
      case "not-found":
        return `${escapeControls(this.path)}: the layout directory does not exist; create the layout first.`
      case "symlink":
        return `${escapeControls(this.path)}: the lock file is a symbolic link; ocidx never opens or creates a file through a link. Remove the link.`
      case "unsupported":
        return `${escapeControls(this.path)}: cannot lock for writing because flock(2) is not available here (${describeCause(this.cause)}). ocidx writes layouts on Linux and macOS; reads work without the lock.`
      default:
        return `${escapeControls(this.path)}: the lock failed with an I/O error (${describeCause(this.cause)}).`
    }
  }
}

/**
 * @since 0.1.0
 * @category model
 */
export const IoReason = Schema.Literal(
  "not-found",
  "permission",
  "read-only",
  "no-space",
  "not-a-file",
  "symlink",
  "io"
)

/**
 * @since 0.1.0
 * @category model
 */
export type IoReason = typeof IoReason.Type

/**
 * The reason for a platform error, from its errno where the platform kept one (platform maps only a few codes
 * to its own reasons and reports the rest, EROFS or ENOSPC among them, as "Unknown").
 *
 * @since 0.1.0
 * @category conversions
 */
export const ioReasonOf: (error: PlatformError) => IoReason = platformError.ioReason

const ioAdvice: Record<IoReason, string> = {
  "not-found": "it does not exist; check the path",
  permission: "permission denied; check the owner and mode",
  "read-only": "the file system is read-only",
  "no-space": "no space left on the device; free some and retry",
  "not-a-file": "it is not a regular file",
  symlink: "it is a symbolic link, which ocidx refuses to follow inside a layout",
  io: "an I/O error occurred"
}

/**
 * A file could not be read.
 *
 * @since 0.1.0
 * @category error
 */
export class ReadError extends Schema.TaggedError<ReadError>("@ocidx/core/ReadError")("ReadError", {
  path: Schema.String,
  reason: IoReason,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * The `ReadError` for `path` that a platform error amounts to, keeping it as the cause:
   * `fs.readFile(file).pipe(Effect.mapError(ReadError.fromPlatformError(file)))`.
   *
   * @since 0.1.0
   * @category constructors
   */
  static fromPlatformError(path: string): (error: PlatformError) => ReadError {
    return (error) => new ReadError({ path, reason: ioReasonOf(error), cause: error })
  }

  override get message(): string {
    return `cannot read ${escapeControls(this.path)}: ${ioAdvice[this.reason]}${this.reason === "io" ? ` (${describeCause(this.cause)})` : ""}.`
  }
}

/**
 * A file could not be written. Whatever was on disk before is still there.
 *
 * @since 0.1.0
 * @category error
 */
export class WriteError extends Schema.TaggedError<WriteError>("@ocidx/core/WriteError")("WriteError", {
  path: Schema.String,
  reason: IoReason,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * The `WriteError` for `path` that a platform error amounts to, keeping it as the cause.
   *
   * @since 0.1.0
   * @category constructors
   */
  static fromPlatformError(path: string): (error: PlatformError) => WriteError {
    return (error) => new WriteError({ path, reason: ioReasonOf(error), cause: error })
  }

  override get message(): string {
    return `cannot write ${escapeControls(this.path)}: ${ioAdvice[this.reason]}${this.reason === "io" ? ` (${describeCause(this.cause)})` : ""}. Nothing on disk was changed.`
  }
}

/**
 * @since 0.1.0
 * @category model
 */
export const DecodeReason = Schema.Literal(
  "json",
  "utf8",
  "schema",
  "unsupported-version",
  // Limits of the one JSON reader (docs/guarantees.md lists them).
  "too-large",
  "too-deep",
  "duplicate-key",
  "inexact-number",
  // index.json of 0 bytes or whitespace only: read as empty, but a sweep refuses it (gc deletes nothing).
  "blank",
  // A layout directory (blobs/, blobs/<alg>) that is a symbolic link: ocidx refuses to follow it.
  "symlink"
)

/**
 * @since 0.1.0
 * @category model
 */
export type DecodeReason = typeof DecodeReason.Type

/**
 * One problem found while decoding: where (`["manifests", 3, "digest"]`) and what.
 *
 * @since 0.1.0
 * @category model
 */
export class DecodeIssue extends Schema.Class<DecodeIssue>("@ocidx/core/DecodeIssue")({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
}) {}

/**
 * Content that is not what the OCI image-spec says it must be: a file on disk, or input given to ocidx.
 *
 * @since 0.1.0
 * @category error
 */
export class DecodeError extends Schema.TaggedError<DecodeError>("@ocidx/core/DecodeError")("DecodeError", {
  /** The file, or a description of the input (e.g. "the descriptor given to put"). */
  path: Schema.String,
  reason: DecodeReason,
  /** A readable account of every problem, as a tree. */
  detail: Schema.String,
  issues: Schema.Array(DecodeIssue)
}) {
  override get message(): string {
    const first = this.issues[0]
    const where = first && first.path.length > 0 ? ` at ${formatPath(first.path)}` : ""
    const advice =
      this.reason === "unsupported-version"
        ? "ocidx refuses to write into a layout version it does not understand."
        : this.reason === "symlink"
          ? "Replace the link with a real directory; ocidx changed nothing."
          : "Fix or restore the file; ocidx did not change it."
    // The detail is a tree, one line per node: each line is escaped, so a value never adds a line.
    const detail = this.detail.split("\n").map(escapeControls).join("\n")
    return `${escapeControls(this.path)} is invalid${where}: ${escapeControls(first?.message ?? this.detail)}. ${advice}${
      this.issues.length > 1 ? `\n${detail}` : ""
    }`
  }
}

/**
 * A tag or image name that ocidx will not write.
 *
 * @since 0.1.0
 * @category error
 */
export class InvalidReference extends Schema.TaggedError<InvalidReference>("@ocidx/core/InvalidReference")(
  "InvalidReference",
  { value: Schema.String, problem: Schema.String }
) {
  override get message(): string {
    return `invalid reference ${quote(this.value)}: ${escapeControls(this.problem)}`
  }
}

/**
 * Formats a decode path the way Effect's tree formatter does: `["manifests"][3]["digest"]`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.map((key) => `[${typeof key === "string" ? quote(key) : String(key)}]`).join("")

const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) return escapeControls(cause.message)
  if (typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string") {
    return escapeControls(cause.message)
  }
  return escapeControls(String(cause))
}

/**
 * No blob with this digest is in the layout.
 *
 * @since 0.1.0
 * @category error
 */
export class BlobNotFound extends Schema.TaggedError<BlobNotFound>("@ocidx/core/BlobNotFound")("BlobNotFound", {
  path: Schema.String,
  digest: Schema.String
}) {
  override get message(): string {
    return `blob ${escapeControls(this.digest)} is not in the layout (expected at ${escapeControls(this.path)}). Add the blob, or copy the image again.`
  }
}

/**
 * Content whose size or digest is not what it should be: a corrupt blob, or input that does not match the
 * descriptor it was given with.
 *
 * @since 0.1.0
 * @category error
 */
export class DigestMismatch extends Schema.TaggedError<DigestMismatch>("@ocidx/core/DigestMismatch")("DigestMismatch", {
  path: Schema.String,
  expectedDigest: Schema.String,
  actualDigest: Schema.optional(Schema.String),
  expectedSize: Schema.optional(Schema.Number),
  actualSize: Schema.Number
}) {
  override get message(): string {
    const size =
      this.expectedSize !== undefined && this.expectedSize !== this.actualSize
        ? `size is ${this.actualSize} bytes, expected ${this.expectedSize}`
        : undefined
    const digest =
      this.actualDigest !== undefined && this.actualDigest !== this.expectedDigest
        ? `digest is ${escapeControls(this.actualDigest)}, expected ${escapeControls(this.expectedDigest)}`
        : undefined
    return `${escapeControls(this.path)}: ${[size, digest].filter((part) => part !== undefined).join("; ")}. The content is corrupt or not the one described; fetch it again.`
  }
}

/**
 * What needed the whole graph when a manifest could not be read: `gc`, `prune` (both refuse to delete
 * anything rather than guess), `sizes` (the entry sizes) or `reachable` (the set of reachable blobs).
 *
 * @since 0.1.0
 * @category model
 */
export const GraphOperation = Schema.Literal("gc", "prune", "sizes", "reachable")

/**
 * @since 0.1.0
 * @category model
 */
export type GraphOperation = typeof GraphOperation.Type

const unreadableOutcomes: Record<GraphOperation, string> = {
  gc: "gc deleted nothing. Restore the blob, or force the collection.",
  prune: "prune removed nothing. Restore the blob, or force the prune.",
  sizes: "the sizes cannot be counted. Restore the blob.",
  reachable: "what it references is unknown. Restore the blob."
}

/**
 * A manifest or nested index that the index reaches cannot be read or decoded, so the set of reachable
 * blobs is unknown: gc and prune refuse to delete anything rather than guess.
 *
 * @since 0.1.0
 * @category error
 */
export class UnreadableManifest extends Schema.TaggedError<UnreadableManifest>("@ocidx/core/UnreadableManifest")(
  "UnreadableManifest",
  { path: Schema.String, digest: Schema.String, operation: GraphOperation, cause: Schema.Defect }
) {
  override get message(): string {
    const cause = describeCause(this.cause)
    return `${escapeControls(this.path)}: the manifest ${escapeControls(this.digest)} is reachable from index.json but cannot be read (${cause}); ${unreadableOutcomes[this.operation]}`
  }
}

/**
 * How many levels of manifests and nested indexes below index.json ocidx reads: a descriptor in index.json
 * is level 1, the manifests of a nested index it names level 2, and so on. Deeper content is not read, so a
 * claimed chain of any length costs at most this many reads along one path.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxGraphDepth = 64

/**
 * @since 0.1.0
 * @category model
 */
export const GraphReason = Schema.Literal("cycle", "too-deep")

/**
 * @since 0.1.0
 * @category model
 */
export type GraphReason = typeof GraphReason.Type

/**
 * The manifests and nested indexes reachable from the index do not form a finite tree ocidx can walk: they
 * claim a cycle (only possible when a blob's content does not match its digest), or they nest deeper than
 * `maxGraphDepth`. `digests` is the path from an index.json entry: for a cycle it ends with the digest it
 * began the loop with; for "too-deep" it ends with the first descriptor not read.
 *
 * @since 0.1.0
 * @category error
 */
export class GraphError extends Schema.TaggedError<GraphError>("@ocidx/core/GraphError")("GraphError", {
  path: Schema.String,
  reason: GraphReason,
  digests: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const chain = formatChain(this.digests)
    if (this.reason === "cycle") {
      return `${escapeControls(this.path)}: the nested indexes form a cycle (${chain}); a blob's content does not match its digest. Run verify, and restore the blobs it reports.`
    }
    return `${escapeControls(this.path)}: manifests and indexes nest more than ${maxGraphDepth} levels deep (${chain}); ocidx reads no deeper. Flatten the nested indexes.`
  }
}

/** A path of digests, shortened in its middle when long: a message stays one readable line. */
const formatChain = (digests: ReadonlyArray<string>): string => {
  const shown =
    digests.length <= 6 ? digests : [...digests.slice(0, 3), `… ${digests.length - 5} more …`, ...digests.slice(-2)]
  return ["index.json", ...shown].join(" → ")
}

/**
 * Why a registry operation failed. `unauthorized`: the registry refused the credentials, or there were none
 * to give; `denied`: authenticated but not allowed; `not-found`: no such repository, manifest, tag or blob;
 * `digest-mismatch`: the bytes received are not the ones named; `rate-limited`: 429 outlasted the retries;
 * `unavailable`: the registry could not be reached or kept failing (5xx) after the retries; `protocol`: an
 * answer the distribution spec does not allow; `too-large`: a manifest above the 4 MiB limit.
 *
 * @since 0.1.0
 * @category model
 */
export const RegistryReason = Schema.Literal(
  "unauthorized",
  "denied",
  "not-found",
  "digest-mismatch",
  "rate-limited",
  "unavailable",
  "protocol",
  "too-large"
)

/**
 * @since 0.1.0
 * @category model
 */
export type RegistryReason = typeof RegistryReason.Type

/**
 * A registry operation failed. `url` never holds credentials; `code` and `detail` are the registry's own
 * error code and message (from its `errors` body) when it sent them.
 *
 * @since 0.1.0
 * @category error
 */
export class RegistryError extends Schema.TaggedError<RegistryError>("@ocidx/core/RegistryError")("RegistryError", {
  /** The registry host as the user named it, e.g. `ghcr.io` or `localhost:5000`. */
  registry: Schema.String,
  reason: RegistryReason,
  /** The method and URL of the failing request, without credentials, e.g. `GET https://r/v2/a/manifests/v1`. */
  request: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  /** The registry's error code, e.g. `MANIFEST_UNKNOWN`. */
  code: Schema.optional(Schema.String),
  /** The registry's error message, or what went wrong. */
  detail: Schema.optional(Schema.String),
  /**
   * `true` when the connection failed in its TLS handshake: a certificate this client does not trust (signed
   * by a private CA, or self-signed), or no TLS at the other end. Trusting the CA, or letting the registry be
   * spoken to insecurely, is then the way on (`NodeRegistry`'s `caFile`, `RegistryClient`'s `insecure`).
   */
  tls: Schema.optional(Schema.Boolean),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    // A detail without the registry's error code is ocidx's own account (a refused connection, say), not the
    // registry's words.
    const detail = this.detail === undefined || this.detail === "" ? undefined : this.detail
    const said =
      this.code !== undefined && this.code !== ""
        ? ` The registry said: ${escapeControls([this.code, ...(detail === undefined ? [] : [detail])].join(": "))}.`
        : detail === undefined
          ? ""
          : ` ${escapeControls(detail.charAt(0).toUpperCase() + detail.slice(1))}.`
    const what = `${escapeControls(this.registry)}: ${registryAdvice[this.reason]}`
    const where =
      this.request === undefined
        ? ""
        : ` (${escapeControls(this.request)}${this.status === undefined ? "" : ` → ${this.status}`})`
    return `${what}${said}${where}`
  }
}

const registryAdvice: Record<RegistryReason, string> = {
  unauthorized:
    "the registry refused the credentials, or none were found. Log in with `ocidx login`, or check the user and password.",
  denied: "access denied: the credentials are valid but not allowed to do this. Check the repository's permissions.",
  "not-found": "not found: check the repository, tag or digest.",
  "digest-mismatch":
    "the content received does not match its digest; nothing was kept. Try again, or report the registry.",
  "rate-limited": "rate limited, and the limit outlasted the retries. Try again later.",
  unavailable:
    "the registry cannot be reached, or kept failing after the retries. Check the address and that it is up.",
  protocol: "the registry answered something the distribution protocol does not allow.",
  "too-large": "the manifest is larger than the 4 MiB ocidx accepts."
}

/**
 * What was being done with credentials: `get` (before talking to a registry), `store` (login) or `erase`
 * (logout).
 *
 * @since 0.1.0
 * @category model
 */
export const CredentialOperation = Schema.Literal("get", "store", "erase")

/**
 * @since 0.1.0
 * @category model
 */
export type CredentialOperation = typeof CredentialOperation.Type

/**
 * Why credentials could not be had: `io`, a config file cannot be read or written; `invalid`, a config file,
 * a registry name or a user name is not valid; `helper`, a credential helper is missing, failed or answered
 * something else than its protocol; `no-config`, there is no config.json to write (neither `DOCKER_CONFIG`
 * nor `HOME` is set).
 *
 * @since 0.1.0
 * @category model
 */
export const CredentialReason = Schema.Literal("io", "invalid", "helper", "no-config")

/**
 * @since 0.1.0
 * @category model
 */
export type CredentialReason = typeof CredentialReason.Type

const credentialVerbs: Record<CredentialOperation, string> = {
  get: "get credentials for",
  store: "store credentials for",
  erase: "erase credentials for"
}

/**
 * Credentials could not be read, stored or erased: a credential helper failed, or a config file is
 * unreadable, unwritable or invalid. Never holds a secret.
 *
 * @since 0.1.0
 * @category error
 */
export class CredentialError extends Schema.TaggedError<CredentialError>("@ocidx/core/CredentialError")(
  "CredentialError",
  {
    registry: Schema.String,
    operation: CredentialOperation,
    reason: CredentialReason,
    /** The config file or the helper (`docker-credential-<name>`) involved; none for a name given that is invalid. */
    source: Schema.optional(Schema.String),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const where = this.source === undefined ? "" : ` in ${escapeControls(this.source)}`
    return `cannot ${credentialVerbs[this.operation]} ${escapeControls(this.registry)}${where}: ${escapeControls(this.detail)}.`
  }
}

/**
 * @since 0.1.0
 * @category model
 */
export const ImageNotFoundReason = Schema.Literal("no-entry", "ambiguous", "no-platform")

/**
 * @since 0.1.0
 * @category model
 */
export type ImageNotFoundReason = typeof ImageNotFoundReason.Type

/**
 * What a copy was asked to move is not there: `no-entry`, no entry of the layout has that name, tag or
 * digest; `ambiguous`, no name was given and the layout does not hold exactly one entry; `no-platform`, the
 * index has no manifest for a platform asked for.
 *
 * @since 0.1.0
 * @category error
 */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>("@ocidx/core/ImageNotFound")("ImageNotFound", {
  /** Where it was looked for, e.g. `oci:/srv/layout` or `docker://ghcr.io/org/app:v1`. */
  location: Schema.String,
  reason: ImageNotFoundReason,
  /** What was not found, in words. */
  detail: Schema.String
}) {
  override get message(): string {
    return `${escapeControls(this.location)}: ${escapeControls(this.detail)}`
  }
}

/**
 * @since 0.1.0
 * @category model
 */
export const ArchiveReason = Schema.Literal(
  "unsafe-path",
  "unsafe-link",
  "unsupported-entry",
  "duplicate",
  "missing-blob",
  "digest-mismatch",
  "size-mismatch",
  "truncated",
  "malformed",
  "too-large",
  "not-docker"
)

/**
 * @since 0.1.0
 * @category model
 */
export type ArchiveReason = typeof ArchiveReason.Type

/**
 * An image archive (a tar, plain or gzip) that ocidx refuses to read: an entry that could reach outside the
 * archive (`unsafe-path`, `unsafe-link`), a device, FIFO or unknown file (`unsupported-entry`), the same
 * entry twice with different content (`duplicate`), a descriptor naming a blob the archive lacks
 * (`missing-blob`) or one of another size (`size-mismatch`), bytes that do not match their name
 * (`digest-mismatch`), a cut-off tar or gzip stream (`truncated`), a broken one (`malformed`), more data than
 * the archive's entries and descriptors allow (`too-large`), or a `manifest.json` not in docker's shape
 * (`not-docker`). Nothing is tagged when an archive is refused.
 *
 * @since 0.1.0
 * @category error
 */
export class ArchiveError extends Schema.TaggedError<ArchiveError>("@ocidx/core/ArchiveError")("ArchiveError", {
  /** The archive, e.g. `image.tar` or `-` for standard input. */
  archive: Schema.String,
  /** The entry concerned, as the tar names it; empty for the archive as a whole. */
  entry: Schema.String,
  reason: ArchiveReason,
  /** What is wrong, in words. */
  detail: Schema.String
}) {
  override get message(): string {
    const where =
      this.entry === "" ? escapeControls(this.archive) : `${escapeControls(this.archive)}: ${quote(this.entry)}`
    return `${where}: ${escapeControls(this.detail)}. The archive was refused; nothing was tagged.`
  }
}
