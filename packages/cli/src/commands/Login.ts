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
import type { FileSystem } from "@effect/platform/FileSystem"
import type { HttpClient } from "@effect/platform/HttpClient"
import type { Path } from "@effect/platform/Path"
import * as Credentials from "@ocidx/core/Credentials"
import type { Hasher } from "@ocidx/core/Hasher"
import * as ImageReference from "@ocidx/core/ImageReference"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as Text from "@ocidx/core/Text"
import { Effect, Layer, Option, Stream } from "effect"
import { UsageError } from "../CliError.js"
import { Stdio } from "../Stdio.js"

const registryArg = Args.text({ name: "registry" }).pipe(
  Args.withDescription("The registry: host[:port] (ghcr.io, localhost:5000), or docker.io for Docker Hub.")
)

// A password or token is a few kilobytes at most; more is not a password.
const maxPasswordBytes = 64 * 1024

/** The Node services login and logout need, loaded by them only: other commands never load the HTTP client. */
const nodeServices = Effect.promise(() =>
  Promise.all([
    import("@effect/platform-node/NodeCommandExecutor"),
    import("@effect/platform-node/NodeHttpClient"),
    import("@ocidx/node/NodeHasher")
  ])
).pipe(
  Effect.map(([NodeCommandExecutor, NodeHttpClient, NodeHasher]) =>
    Layer.mergeAll(
      Credentials.layer().pipe(Layer.provide(NodeCommandExecutor.layer)),
      NodeHttpClient.layerUndici,
      NodeHasher.layer
    )
  )
)

const withNodeServices = <A, E>(
  effect: Effect.Effect<A, E, Credentials.CredentialStore | HttpClient | Hasher | Stdio>
): Effect.Effect<A, E, FileSystem | Path | Stdio> =>
  Effect.flatMap(nodeServices, (services) => Effect.provide(effect, services))

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
 * Asks the registry whether it accepts the credential, as `docker login` does: `GET /v2/` through the
 * registry client, given this credential alone (whatever is stored already plays no part).
 */
const verify = (registry: string, username: string, password: string) =>
  Effect.flatMap(RegistryClient.RegistryClient, (client) => client.ping(registry)).pipe(
    Effect.provide(
      RegistryClient.layer().pipe(
        Layer.provide(Credentials.layerStatic({ [registry]: { _tag: "Password", username, password } }))
      )
    )
  )

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
    )
  },
  ({ registry: registryText, username, passwordStdin, password }) =>
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
      yield* withNodeServices(
        Effect.gen(function* () {
          yield* verify(registry, username.value, secret)
          const credentials = yield* Credentials.CredentialStore
          const stored = yield* credentials.store(registry, { username: username.value, password: secret })
          const stdio = yield* Stdio
          const where = stored._tag === "Helper" ? `the credential helper ${stored.location}` : stored.location
          yield* stdio.out(`${registry}: logged in; credentials stored in ${Text.escapeControls(where)}\n`)
        })
      )
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
    yield* withNodeServices(
      Effect.gen(function* () {
        const credentials = yield* Credentials.CredentialStore
        const erased = yield* credentials.erase(registry)
        const stdio = yield* Stdio
        yield* stdio.out(
          erased ? `${registry}: logged out; credentials removed\n` : `${registry}: not logged in; nothing to remove\n`
        )
      })
    )
  })
).pipe(
  Command.withDescription(
    "Log out of a registry: remove its stored credentials (from the credential helper, and config.json)."
  )
)
