/**
 * docker's config.json and podman's auth.json: reading them, finding a registry's entry, and writing
 * config.json back with every field it held kept.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Credential } from "../../Credentials.js"
import type { DecodeReason } from "../../Errors.js"
import type { CredentialOperation } from "../../Errors.js"
import { CredentialError, DecodeError, DecodeIssue, formatPath, ReadError, WriteError } from "../../Errors.js"
import * as ImageReference from "../../ImageReference.js"
import { createTemp, removeQuietly, syncDirectory, tempPathFor } from "../atomicWrite.js"
import * as JsonReader from "../jsonReader.js"
import { isNotFound } from "../platformError.js"

/** @internal */
export const AuthEntry = Schema.Struct({
  auth: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  password: Schema.optional(Schema.String),
  identitytoken: Schema.optional(Schema.String)
}).annotations({ identifier: "AuthEntry" })

/** @internal */
export type AuthEntry = typeof AuthEntry.Type

/** @internal */
export const ConfigFile = Schema.Struct({
  auths: Schema.optional(Schema.Record({ key: Schema.String, value: AuthEntry })),
  credHelpers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  credsStore: Schema.optional(Schema.String)
}).annotations({ identifier: "ConfigFile" })

/** @internal */
export type ConfigFile = typeof ConfigFile.Type

/** A config file as read: its contents (`None` when there is no file), kept whole for writing back. @internal */
export interface Loaded {
  readonly path: string
  readonly config: Option.Option<ConfigFile>
}

const credentialError = (
  operation: CredentialOperation,
  reason: "io" | "invalid",
  registry: string,
  source: string,
  detail: string,
  cause?: unknown
) => new CredentialError({ registry, operation, reason, source, detail, cause })

// A file of credentials is small; a cap keeps a runaway file from exhausting memory.
const maxConfigBytes = 1024 * 1024

/**
 * The cause kept for a file that does not decode: where it is wrong, never what it holds (any value may be a
 * secret, and the reader's and the schema's messages quote values).
 */
const safeDecodeError = (
  path: string,
  reason: DecodeReason,
  detail: string,
  where: ReadonlyArray<ReadonlyArray<string | number>>
): DecodeError =>
  new DecodeError({
    path,
    reason,
    detail,
    issues: where.map((at) => new DecodeIssue({ path: at, message: "invalid here" }))
  })

/**
 * Reads and decodes a config file. A decode failure names where the file is wrong but never quotes it: any
 * value in it may be a secret.
 * @internal
 */
export const load = (
  registry: string,
  path: string,
  operation: CredentialOperation
): Effect.Effect<Loaded, CredentialError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<Uint8Array>())),
      Effect.mapError((error) => {
        const cause = ReadError.fromPlatformError(path)(error)
        return credentialError(
          operation,
          "io",
          registry,
          path,
          `cannot read it (${cause.reason}); check its owner and mode`,
          cause
        )
      })
    )
    if (Option.isNone(bytes)) return { path, config: Option.none() }
    const document = JsonReader.readJson(path, bytes.value, { maxBytes: maxConfigBytes })
    if (Either.isLeft(document)) {
      const where = document.left.issues[0]?.path ?? []
      const detail = `it is not a valid JSON file (${document.left.reason}${where.length > 0 ? ` at ${formatPath(where)}` : ""}); fix or remove it`
      return yield* credentialError(
        operation,
        "invalid",
        registry,
        path,
        detail,
        safeDecodeError(path, document.left.reason, detail, [where])
      )
    }
    const decoded = Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "preserve" })(
      document.right.value
    )
    if (Either.isLeft(decoded)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      const paths = issues.map((issue) =>
        formatPath(issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)))
      )
      const detail = `it does not have the shape docker's config.json has: wrong type at ${paths.join(", ")}; fix or remove it`
      return yield* credentialError(
        operation,
        "invalid",
        registry,
        path,
        detail,
        safeDecodeError(
          path,
          "schema",
          detail,
          issues.map((issue) => issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)))
        )
      )
    }
    return { path, config: Option.some(decoded.right) }
  })

/** The `auths` key holding a registry's entry, if any. @internal */
export const authsKey = (config: ConfigFile, registry: string): string | undefined =>
  config.auths === undefined ? undefined : ImageReference.findConfigKey(registry, Object.keys(config.auths))

/** The credential helper config.json names for a registry: its `credHelpers` entry, else `credsStore`. @internal */
export const helperFor = (config: ConfigFile, registry: string): string | undefined => {
  const helpers = config.credHelpers ?? {}
  const key = ImageReference.findConfigKey(registry, Object.keys(helpers))
  const named = key === undefined ? undefined : helpers[key]
  if (named !== undefined && named !== "") return named
  return config.credsStore === undefined || config.credsStore === "" ? undefined : config.credsStore
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * The credential an `auths` entry holds: an identity token, the base64 `auth`, or plain username and
 * password. `None` for an empty entry (docker writes one beside a `credsStore`).
 * @internal
 */
export const credentialOf = (
  registry: string,
  source: string,
  key: string,
  entry: AuthEntry
): Either.Either<Option.Option<Credential>, CredentialError> => {
  if (entry.identitytoken !== undefined && entry.identitytoken !== "") {
    return Either.right(Option.some({ _tag: "IdentityToken", token: entry.identitytoken }))
  }
  if (entry.auth !== undefined && entry.auth !== "") {
    const bytes = Encoding.decodeBase64(entry.auth.trim())
    const text = Either.flatMap(bytes, (decoded) =>
      Either.try({ try: () => utf8Decoder.decode(decoded), catch: () => "not UTF-8" })
    )
    const colon = Either.isRight(text) ? text.right.indexOf(":") : -1
    if (Either.isLeft(text) || colon <= 0) {
      return Either.left(
        credentialError(
          "get",
          "invalid",
          registry,
          source,
          `auths[${JSON.stringify(key)}].auth is not the base64 of user:password; log in again or fix it`
        )
      )
    }
    return Either.right(
      Option.some({ _tag: "Password", username: text.right.slice(0, colon), password: text.right.slice(colon + 1) })
    )
  }
  if (entry.username !== undefined && entry.username !== "" && entry.password !== undefined) {
    return Either.right(Option.some({ _tag: "Password", username: entry.username, password: entry.password }))
  }
  return Either.right(Option.none())
}

/** The credential a config file's `auths` holds for a registry. @internal */
export const lookupAuths = (
  registry: string,
  loaded: Loaded
): Either.Either<Option.Option<Credential>, CredentialError> => {
  if (Option.isNone(loaded.config)) return Either.right(Option.none())
  const config = loaded.config.value
  const key = authsKey(config, registry)
  const entry = key === undefined ? undefined : config.auths?.[key]
  return key === undefined || entry === undefined
    ? Either.right(Option.none())
    : credentialOf(registry, loaded.path, key, entry)
}

const credentialFields: ReadonlySet<string> = new Set(["auth", "username", "password", "identitytoken"])

/** An entry without its credential fields: what docker keeps (e.g. `email`) when it rewrites one. */
const withoutCredential = (entry: AuthEntry): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entry).filter(([field]) => !credentialFields.has(field)))

/**
 * The config with `auths[key]` set to `{ auth: base64(user:password) }` (other fields of that entry kept) and
 * the registry's other spellings (`https://host`, `index.docker.io`, ...) removed, so no stale copy of an old
 * password is left behind.
 * @internal
 */
export const withAuth = (
  config: ConfigFile,
  registry: string,
  credential: { readonly username: string; readonly password: string }
): ConfigFile => {
  const key = ImageReference.configKey(registry)
  const auths = Object.entries(config.auths ?? {})
  const previous = auths.find(([existing]) => existing === key)?.[1]
  const aliases = ImageReference.configKeys(registry)
  const kept = auths.filter(([existing]) => !aliases.includes(existing))
  const entry = {
    ...(previous === undefined ? {} : withoutCredential(previous)),
    auth: Encoding.encodeBase64(`${credential.username}:${credential.password}`)
  }
  return { ...config, auths: Object.fromEntries([...kept, [key, entry]]) }
}

/** The config without any `auths` entry naming the registry, and how many were removed. @internal */
export const withoutAuths = (
  config: ConfigFile,
  registry: string
): { readonly config: ConfigFile; readonly removed: number } => {
  const auths = Object.entries(config.auths ?? {})
  const kept = auths.filter(([key]) => !ImageReference.matchesConfigKey(registry, key))
  return { config: { ...config, auths: Object.fromEntries(kept) }, removed: auths.length - kept.length }
}

/**
 * Replaces config.json atomically (temp file, fsync, rename, directory fsync) with mode 0600: it holds
 * secrets. A config.json that is a symbolic link (dotfiles) is written where the link points, as docker does.
 * @internal
 */
export const save = (
  registry: string,
  path: string,
  config: ConfigFile,
  operation: CredentialOperation
): Effect.Effect<void, CredentialError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const directory = pathService.dirname(path)
    yield* fs
      .makeDirectory(directory, { recursive: true, mode: 0o700 })
      .pipe(Effect.mapError(WriteError.fromPlatformError(directory)))
    const target = yield* fs.realPath(path).pipe(
      Effect.catchIf(isNotFound, () => Effect.succeed(path)),
      Effect.mapError(WriteError.fromPlatformError(path))
    )
    const bytes = new TextEncoder().encode(`${JSON.stringify(config, null, "\t")}\n`)
    const temp = yield* tempPathFor(target)
    yield* Effect.scoped(
      Effect.flatMap(createTemp(temp, 0o600), (file) => Effect.zipRight(file.writeAll(bytes), file.sync))
    ).pipe(Effect.mapError(WriteError.fromPlatformError(target)))
    yield* fs.chmod(temp, 0o600).pipe(
      Effect.zipRight(fs.rename(temp, target)),
      Effect.onError(() => removeQuietly(temp)),
      Effect.mapError(WriteError.fromPlatformError(target))
    )
    yield* syncDirectory(pathService.dirname(target))
  }).pipe(
    Effect.mapError((cause) =>
      credentialError(
        operation,
        "io",
        registry,
        path,
        `cannot write it (${cause.reason}); check the directory's owner and mode`,
        cause
      )
    )
  )
