/**
 * docker's credential helper protocol: `docker-credential-<name> get|store|erase`, the request on stdin, the
 * answer (or the error) on stdout. What a helper prints may hold a secret, so no error ever quotes it,
 * except the message of a failed `store` or `erase` when it is free of the secret sent.
 * @internal
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Credential } from "../../Credentials.js"
import { CredentialError } from "../../Errors.js"
import { isNotFound } from "../platformError.js"

/** The program a helper name stands for. @internal */
export const programOf = (helper: string): string => `docker-credential-${helper}`

const HelperAnswer = Schema.Struct({
  ServerURL: Schema.optional(Schema.String),
  Username: Schema.String,
  Secret: Schema.String
}).annotations({ identifier: "HelperAnswer" })

// docker-credential-helpers' ErrCredentialsNotFound; some helpers print it with more words around it.
const notFoundMessage = /credentials not found/i

// A helper's answer is a few hundred bytes; reading more than this only serves a runaway helper.
const maxOutputBytes = 1024 * 1024

interface Ran {
  readonly exitCode: number
  readonly stdout: string
}

// The output as text, up to the cap; the rest is drained, so a chatty helper never blocks on a full pipe.
const collectText = (stream: Stream.Stream<Uint8Array, PlatformError>): Effect.Effect<string, PlatformError> =>
  Effect.suspend(() => {
    const decoder = new TextDecoder()
    let text = ""
    let total = 0
    return stream.pipe(
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          total += chunk.length
          if (total <= maxOutputBytes) text += decoder.decode(chunk, { stream: true })
        })
      ),
      Effect.map(() => text + decoder.decode())
    )
  })

const pathFromConfig = Config.option(Config.string("PATH")).pipe(Effect.orElseSucceed(() => Option.none<string>()))

const run = (
  registry: string,
  helper: string,
  action: "get" | "store" | "erase",
  input: string
): Effect.Effect<Ran, CredentialError, CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const program = programOf(helper)
    const path = yield* pathFromConfig
    // The helper is looked up on the PATH the program's Config gives, so a test or an embedding program can
    // point it at its own helpers; by default that is the process's PATH.
    const command = Command.make(program, action).pipe(
      Command.feed(input),
      Option.isSome(path) ? Command.env({ PATH: path.value }) : (self) => self
    )
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const child = yield* Command.start(command)
        const [exitCode, stdout] = yield* Effect.all(
          [child.exitCode, collectText(child.stdout), Stream.runDrain(child.stderr)],
          { concurrency: "unbounded" }
        )
        return { exitCode, stdout }
      })
    ).pipe(
      Effect.mapError(
        (error) =>
          new CredentialError({
            registry,
            operation: action,
            reason: "helper",
            source: program,
            detail: isNotFound(error)
              ? `the credential helper is not installed or not on PATH (config.json names "${helper}"); install it or change credsStore/credHelpers`
              : `running the credential helper's "${action}" failed (${error._tag === "SystemError" ? error.reason : "bad argument"})`,
            cause: error
          })
      )
    )
  })

const helperError = (registry: string, helper: string, operation: "get" | "store" | "erase", detail: string) =>
  new CredentialError({ registry, operation, reason: "helper", source: programOf(helper), detail })

/**
 * The helper's credential for `serverUrl`. An identity token comes back as the user `<token>`.
 * @internal
 */
export const get = (
  registry: string,
  helper: string,
  serverUrl: string
): Effect.Effect<Option.Option<Credential>, CredentialError, CommandExecutor.CommandExecutor> =>
  Effect.flatMap(run(registry, helper, "get", serverUrl), ({ exitCode, stdout }) => {
    if (exitCode !== 0) {
      return notFoundMessage.test(stdout)
        ? Effect.succeed(Option.none())
        : Effect.fail(helperError(registry, helper, "get", `"get" exited with code ${exitCode}`))
    }
    const answer = Schema.decodeUnknownEither(Schema.parseJson(HelperAnswer))(stdout)
    if (Either.isLeft(answer)) {
      return Effect.fail(
        helperError(registry, helper, "get", `"get" answered something other than {"Username", "Secret"} JSON`)
      )
    }
    const { Username, Secret } = answer.right
    if (Secret === "") return Effect.succeed(Option.none())
    return Effect.succeed(
      Option.some<Credential>(
        Username === "<token>"
          ? { _tag: "IdentityToken", token: Secret }
          : { _tag: "Password", username: Username, password: Secret }
      )
    )
  })

// A failed store or erase prints why; its first line helps ("keychain locked"), unless it echoes the secret.
const describeFailure = (action: string, ran: Ran, secret: string | undefined): string => {
  const firstLine = ran.stdout.trim().split("\n")[0]?.trim().slice(0, 200) ?? ""
  const safe = firstLine !== "" && (secret === undefined || secret === "" || !firstLine.includes(secret))
  return `"${action}" exited with code ${ran.exitCode}${safe ? `: ${firstLine}` : ""}`
}

/** Stores a credential in the helper. @internal */
export const store = (
  registry: string,
  helper: string,
  serverUrl: string,
  credential: { readonly username: string; readonly password: string }
): Effect.Effect<void, CredentialError, CommandExecutor.CommandExecutor> =>
  Effect.flatMap(
    run(
      registry,
      helper,
      "store",
      JSON.stringify({ ServerURL: serverUrl, Username: credential.username, Secret: credential.password })
    ),
    (ran) =>
      ran.exitCode === 0
        ? Effect.void
        : Effect.fail(helperError(registry, helper, "store", describeFailure("store", ran, credential.password)))
  )

/** Erases the helper's credential; `false` when it had none. @internal */
export const erase = (
  registry: string,
  helper: string,
  serverUrl: string
): Effect.Effect<boolean, CredentialError, CommandExecutor.CommandExecutor> =>
  Effect.flatMap(run(registry, helper, "erase", serverUrl), (ran) => {
    if (ran.exitCode === 0) return Effect.succeed(true)
    return notFoundMessage.test(ran.stdout)
      ? Effect.succeed(false)
      : Effect.fail(helperError(registry, helper, "erase", describeFailure("erase", ran, undefined)))
  })
