/**
 * `ocidx login <registry> -u <user> --password-stdin` and `ocidx logout <registry>`: credentials stored and
 * removed as `docker login` and `docker logout` do (the helper config.json names, else config.json `auths`),
 * so docker, podman, skopeo and ocidx share them. login checks the credentials with the registry first, as
 * docker does, and stores nothing the registry refused. The password is read from standard input only: an
 * argument would end up in the shell's history and the process list.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as Credentials from "@ocidx/core/Credentials"
import type { ReadError, RegistryError } from "@ocidx/core/Errors"
import * as ImageReference from "@ocidx/core/ImageReference"
import * as Text from "@ocidx/core/Text"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { UsageError } from "../CliError.js"
import { Stdio } from "../Stdio.js"

const registryArg = Args.text({ name: "registry" }).pipe(
  Args.withDescription("The registry: host[:port] (ghcr.io, localhost:5000), or docker.io for Docker Hub.")
)

// A password or token is a few kilobytes at most; more is not a password.
const maxPasswordBytes = 64 * 1024

/**
 * What login and logout run on: the credential store, and a check of a credential with a registry.
 *
 * @since 0.1.0
 * @category model
 */
export interface LoginServices {
  readonly credentials: Credentials.CredentialStore
  /**
   * Asks the registry whether it accepts the credential, as `docker login` does: `GET /v2/` through the
   * registry client, given this credential alone (whatever is stored already plays no part).
   */
  readonly verify: (
    registry: string,
    credential: { readonly username: string; readonly password: string },
    options: { readonly caFile: string | undefined; readonly insecure: boolean }
  ) => Effect.Effect<void, RegistryError | ReadError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const LoginServices: Context.Tag<LoginServices, LoginServices> =
  Context.GenericTag<LoginServices>("@ocidx/cli/LoginServices")

/**
 * Services made by `make` on first use, once per run, and released when the run ends.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerLazy = (make: Effect.Effect<LoginServices, never, Scope.Scope>): Layer.Layer<LoginServices> =>
  Layer.scoped(
    LoginServices,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const services = yield* Effect.cached(Scope.extend(make, scope))
      return {
        credentials: {
          get: (registry) => Effect.flatMap(services, (made) => made.credentials.get(registry)),
          store: (registry, credential) =>
            Effect.flatMap(services, (made) => made.credentials.store(registry, credential)),
          erase: (registry) => Effect.flatMap(services, (made) => made.credentials.erase(registry))
        },
        verify: (...args) => Effect.flatMap(services, (made) => made.verify(...args))
      }
    })
  )

// A separate chunk of the bundle: commands other than login and logout never load the HTTP client.
const load = Effect.flatMap(
  Effect.promise(() => import("../internal/nodeLogin.js")),
  (nodeLogin) => nodeLogin.make
)

/**
 * The Node services, loaded by the first login or logout.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerNode: Layer.Layer<LoginServices> = layerLazy(load)

/** The services of the run: the ones provided, else the Node ones, loaded now for this command. */
const withServices = <A, E>(use: (services: LoginServices) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.serviceOption(LoginServices), (provided) =>
    Option.match(provided, {
      onSome: use,
      onNone: () => Effect.scoped(Effect.flatMap(load, use))
    })
  )

/** Standard input as the password: one trailing newline (and a carriage return before it) is not part of it. */
const readPassword = Effect.gen(function* () {
  const stdio = yield* Stdio
  const chunks: Array<Uint8Array> = []
  let total = 0
  yield* stdio.stdin.pipe(
    Stream.takeWhile(() => total <= maxPasswordBytes),
    Stream.runForEach((chunk) =>
      Effect.sync(() => {
        chunks.push(chunk)
        total += chunk.length
      })
    )
  )
  if (total > maxPasswordBytes) {
    return yield* new UsageError({
      message: `standard input holds more than ${maxPasswordBytes / 1024} KiB, which is not a password; pipe only the password or token to --password-stdin`
    })
  }
  const text = Buffer.concat(chunks).toString("utf8")
  const withoutNewline = text.endsWith("\n") ? text.slice(0, -1) : text
  return withoutNewline.endsWith("\r") ? withoutNewline.slice(0, -1) : withoutNewline
})

/**
 * @since 0.1.0
 * @category commands
 */
export const login = Command.make(
  "login",
  {
    registry: registryArg,
    username: Options.text("username").pipe(
      Options.withAlias("u"),
      Options.withDescription("The user name."),
      Options.optional
    ),
    passwordStdin: Options.boolean("password-stdin").pipe(
      Options.withDescription("Read the password (or token) from standard input; one trailing newline is dropped.")
    ),
    password: Options.text("password").pipe(
      Options.withAlias("p"),
      Options.withDescription(
        "Refused: a password given as an argument is kept in the shell's history and shown in the process list. Use --password-stdin."
      ),
      Options.optional
    ),
    caFile: Options.text("ca-file").pipe(
      Options.withPseudoName("file"),
      Options.withDescription("A PEM file of certificate authorities to trust for the registry, beside the system's."),
      Options.optional
    ),
    insecure: Options.boolean("insecure").pipe(
      Options.withDescription(
        "Allow plain http, and TLS without a verified certificate, for a registry beyond this machine (loopback registries use http anyway)."
      )
    )
  },
  ({ registry: registryText, username, passwordStdin, password, caFile, insecure }) =>
    Effect.gen(function* () {
      if (Option.isSome(password)) {
        return yield* new UsageError({
          message:
            "login does not take a password as an argument (the shell's history and the process list would show it); pipe it to --password-stdin, e.g. `printf '%s' \"$TOKEN\" | ocidx login ghcr.io -u me --password-stdin`"
        })
      }
      if (!passwordStdin || Option.isNone(username)) {
        return yield* new UsageError({
          message:
            "login needs a user name (-u) and the password on standard input (--password-stdin), e.g. `printf '%s' \"$TOKEN\" | ocidx login ghcr.io -u me --password-stdin`"
        })
      }
      const registry = yield* ImageReference.parseRegistry(registryText)
      const secret = yield* readPassword
      if (secret === "") {
        return yield* new UsageError({ message: "the password read from standard input is empty" })
      }
      const credential = { username: username.value, password: secret }
      const stored = yield* withServices((services) =>
        Effect.zipRight(
          services.verify(registry, credential, { caFile: Option.getOrUndefined(caFile), insecure }),
          services.credentials.store(registry, credential)
        )
      )
      const stdio = yield* Stdio
      const where = stored._tag === "Helper" ? `the credential helper ${stored.location}` : stored.location
      yield* stdio.out(`${registry}: logged in; credentials stored in ${Text.escapeControls(where)}\n`)
    })
).pipe(
  Command.withDescription(
    "Log in to a registry: check the user and password (read from standard input) with the registry, then store them where docker does (its credential helper, or config.json)."
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const logout = Command.make("logout", { registry: registryArg }, ({ registry: registryText }) =>
  Effect.gen(function* () {
    const registry = yield* ImageReference.parseRegistry(registryText)
    const erased = yield* withServices((services) => services.credentials.erase(registry))
    const stdio = yield* Stdio
    yield* stdio.out(
      erased ? `${registry}: logged out; credentials removed\n` : `${registry}: not logged in; nothing to remove\n`
    )
  })
).pipe(
  Command.withDescription(
    "Log out of a registry: remove its stored credentials (from the credential helper, and config.json)."
  )
)
