import { CommandExecutor, Path } from "@effect/platform"
import type * as Command from "@effect/platform/Command"
import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import type { CredentialError } from "@ocidx/core/Errors"
import * as testing from "@ocidx/core/testing"
import { ConfigProvider, Effect, Inspectable, Layer, Option, Schema, Sink, Stream } from "effect"

// ---------------------------------------------------------------------------------------------------------
// credential helpers as functions: the protocol is tested here, real processes in packages/node/test

interface HelperCall {
  readonly program: string
  readonly action: string
  readonly stdin: string
  readonly env: Readonly<Record<string, string>>
}

type HelperProgram = (action: string, stdin: string) => { readonly exitCode: number; readonly stdout: string }

const encoder = new TextEncoder()

const fakeExecutor = (programs: Readonly<Record<string, HelperProgram>>, calls: Array<HelperCall>) =>
  CommandExecutor.makeExecutor((command: Command.Command) =>
    Effect.gen(function* () {
      if (command._tag !== "StandardCommand") return yield* Effect.die("piped commands are not faked")
      const stdin = typeof command.stdin === "string" ? "" : yield* Stream.mkString(Stream.decodeText(command.stdin))
      calls.push({
        program: command.command,
        action: command.args[0] ?? "",
        stdin,
        env: Object.fromEntries(command.env)
      })
      const program = programs[command.command]
      if (program === undefined) {
        return yield* new SystemError({ reason: "NotFound", module: "Command", method: "spawn", description: "ENOENT" })
      }
      const { exitCode, stdout } = program(command.args[0] ?? "", stdin)
      const process: CommandExecutor.Process = {
        [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
        pid: CommandExecutor.ProcessId(1),
        exitCode: Effect.succeed(CommandExecutor.ExitCode(exitCode)),
        isRunning: Effect.succeed(false),
        kill: () => Effect.void,
        stderr: Stream.empty,
        stdin: Sink.drain,
        stdout: Stream.make(encoder.encode(stdout)),
        toJSON: () => ({ _id: "FakeProcess" }),
        [Inspectable.NodeInspectSymbol]: () => ({ _id: "FakeProcess" }),
        toString: () => "FakeProcess"
      }
      return process
    })
  )

const StoreRequest = Schema.parseJson(
  Schema.Struct({ ServerURL: Schema.String, Username: Schema.String, Secret: Schema.String })
)

/** A helper keeping credentials in a map, answering as docker-credential-helpers' programs do. */
const memoryHelper =
  (held: Map<string, { Username: string; Secret: string }>): HelperProgram =>
  (action, stdin) => {
    const notFound = { exitCode: 1, stdout: "credentials not found in native keychain\n" }
    switch (action) {
      case "get": {
        const found = held.get(stdin)
        return found === undefined ? notFound : { exitCode: 0, stdout: JSON.stringify({ ServerURL: stdin, ...found }) }
      }
      case "store": {
        const { ServerURL, Username, Secret } = Schema.decodeUnknownSync(StoreRequest)(stdin)
        held.set(ServerURL, { Username, Secret })
        return { exitCode: 0, stdout: "" }
      }
      case "erase":
        return held.delete(stdin) ? { exitCode: 0, stdout: "" } : notFound
      default:
        return { exitCode: 1, stdout: "unknown action\n" }
    }
  }

// ---------------------------------------------------------------------------------------------------------

const secret = "s3cr3t-Pa55w0rd"
const base64 = (text: string) => Buffer.from(text).toString("base64")
const home = "/home/u"
const dockerConfig = "/cfg"

interface Setup {
  readonly env?: Readonly<Record<string, string>>
  readonly files?: Readonly<Record<string, string>>
  readonly helpers?: Readonly<Record<string, HelperProgram>>
  readonly options?: Credentials.Options
}

const run = <A, E>(
  setup: Setup,
  body: (context: {
    readonly credentials: Credentials.CredentialStore
    readonly memory: testing.MemoryFileSystem
    readonly calls: ReadonlyArray<HelperCall>
  }) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const calls: Array<HelperCall> = []
    const memory = yield* testing.MemoryFileSystem
    const credentials = yield* Credentials.make(setup.options).pipe(
      Effect.provideService(CommandExecutor.CommandExecutor, fakeExecutor(setup.helpers ?? {}, calls))
    )
    return yield* body({ credentials, memory, calls })
  }).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(setup.env ?? { HOME: home })))),
    Effect.provide(Layer.mergeAll(testing.layer({ files: setup.files ?? {} }), Path.layer))
  )

const config = (value: unknown) => JSON.stringify(value)

const expectNoSecret = (error: CredentialError, ...secrets: ReadonlyArray<string>) => {
  for (const text of [error.message, String(error), JSON.stringify(error), error.detail, error.source ?? ""]) {
    for (const s of [secret, base64(`user:${secret}`), ...secrets]) expect(text).not.toContain(s)
  }
}

describe("Credentials", () => {
  describe("get from config.json auths", () => {
    it.effect("finds nothing when there is no config file", () =>
      run({}, ({ credentials }) =>
        Effect.gen(function* () {
          expect(yield* credentials.get("ghcr.io")).toEqual(Option.none())
        })
      )
    )

    it.effect("reads auth (base64 user:password) from $HOME/.docker/config.json", () =>
      run(
        {
          files: {
            [`${home}/.docker/config.json`]: config({ auths: { "ghcr.io": { auth: base64(`user:${secret}`) } } })
          }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("ghcr.io")).toEqual(
              Option.some({ _tag: "Password", username: "user", password: secret })
            )
            expect(yield* credentials.get("GHCR.IO")).toEqual(
              Option.some({ _tag: "Password", username: "user", password: secret })
            )
            expect(yield* credentials.get("quay.io")).toEqual(Option.none())
          })
      )
    )

    it.effect("a password may hold colons; only the first separates the user", () =>
      run(
        { files: { [`${home}/.docker/config.json`]: config({ auths: { "ghcr.io": { auth: base64("u:a:b:c") } } }) } },
        ({ credentials }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("ghcr.io")).toEqual(
              Option.some({ _tag: "Password", username: "u", password: "a:b:c" })
            )
          })
      )
    )

    it.effect("$DOCKER_CONFIG wins over $HOME, and options.configDir over both", () =>
      Effect.gen(function* () {
        const files = {
          [`${home}/.docker/config.json`]: config({ auths: { "ghcr.io": { auth: base64("home:p") } } }),
          [`${dockerConfig}/config.json`]: config({ auths: { "ghcr.io": { auth: base64("env:p") } } }),
          "/opt/config.json": config({ auths: { "ghcr.io": { auth: base64("option:p") } } })
        }
        const user = (found: Option.Option<Credentials.Credential>) =>
          Option.isSome(found) && found.value._tag === "Password" ? found.value.username : undefined
        const env = { HOME: home, DOCKER_CONFIG: dockerConfig }
        expect(user(yield* run({ files }, ({ credentials }) => credentials.get("ghcr.io")))).toBe("home")
        expect(user(yield* run({ files, env }, ({ credentials }) => credentials.get("ghcr.io")))).toBe("env")
        expect(
          user(
            yield* run({ files, env, options: { configDir: "/opt" } }, ({ credentials }) => credentials.get("ghcr.io"))
          )
        ).toBe("option")
      })
    )

    it.effect("Docker Hub's credentials are under https://index.docker.io/v1/, found by every alias", () =>
      run(
        {
          files: {
            [`${home}/.docker/config.json`]: config({
              auths: { "https://index.docker.io/v1/": { auth: base64("hub:p") } }
            })
          }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            const hub = Option.some({ _tag: "Password", username: "hub", password: "p" })
            expect(yield* credentials.get("docker.io")).toEqual(hub)
            expect(yield* credentials.get("index.docker.io")).toEqual(hub)
            expect(yield* credentials.get("registry-1.docker.io")).toEqual(hub)
          })
      )
    )

    it.effect("matches keys written as URLs, as docker does, and prefers the exact key", () =>
      run(
        {
          files: {
            [`${home}/.docker/config.json`]: config({
              auths: {
                "https://localhost:5000/v1/": { auth: base64("url:p") },
                "https://ghcr.io": { auth: base64("url:p") },
                "ghcr.io": { auth: base64("exact:p") }
              }
            })
          }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("localhost:5000")).toEqual(
              Option.some({ _tag: "Password", username: "url", password: "p" })
            )
            expect(yield* credentials.get("ghcr.io")).toEqual(
              Option.some({ _tag: "Password", username: "exact", password: "p" })
            )
            expect(yield* credentials.get("localhost")).toEqual(Option.none())
          })
      )
    )

    it.effect("reads identitytoken, and username/password fields; an empty entry is none", () =>
      run(
        {
          files: {
            [`${home}/.docker/config.json`]: config({
              auths: {
                "a.io": { auth: base64("user:"), identitytoken: "tok" },
                "b.io": { username: "u", password: "p" },
                "c.io": {}
              }
            })
          }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("a.io")).toEqual(Option.some({ _tag: "IdentityToken", token: "tok" }))
            expect(yield* credentials.get("b.io")).toEqual(
              Option.some({ _tag: "Password", username: "u", password: "p" })
            )
            expect(yield* credentials.get("c.io")).toEqual(Option.none())
          })
      )
    )

    it.effect("then $REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json; config.json first", () =>
      Effect.gen(function* () {
        const files = {
          [`${home}/.docker/config.json`]: config({ auths: { "a.io": { auth: base64("docker:p") } } }),
          "/auth/file.json": config({
            auths: { "a.io": { auth: base64("file:p") }, "b.io": { auth: base64("file:p") } }
          }),
          "/run/user/1/containers/auth.json": config({
            auths: { "b.io": { auth: base64("xdg:p") }, "c.io": { auth: base64("xdg:p") } }
          })
        }
        const env = { HOME: home, REGISTRY_AUTH_FILE: "/auth/file.json", XDG_RUNTIME_DIR: "/run/user/1" }
        const users = yield* run({ files, env }, ({ credentials }) =>
          Effect.forEach(["a.io", "b.io", "c.io", "d.io"], (registry) =>
            Effect.map(
              credentials.get(registry),
              Option.map((found) => (found._tag === "Password" ? found.username : ""))
            )
          )
        )
        expect(users).toEqual([Option.some("docker"), Option.some("file"), Option.some("xdg"), Option.none()])
      })
    )

    it.effect("a config.json that is not JSON is a CredentialError naming it, quoting nothing from it", () =>
      run(
        { files: { [`${home}/.docker/config.json`]: `{"auths": {"ghcr.io": {"auth": "${secret}"` } },
        ({ credentials }) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(credentials.get("ghcr.io"))
            expect(error._tag).toBe("CredentialError")
            expect(error.source).toBe(`${home}/.docker/config.json`)
            expect(error).toMatchObject({ operation: "get", reason: "invalid" })
            expect(error.message).toMatch(
              new RegExp(
                `^cannot get credentials for ghcr\\.io in ${home}/\\.docker/config\\.json: it is not a valid JSON`
              )
            )
            expect(error.detail).toContain("not a valid JSON file")
            expect(error.cause).toMatchObject({ _tag: "DecodeError", reason: "json" })
            expectNoSecret(error)
          })
      )
    )

    it.effect("a field of the wrong type is named by its path, never quoted", () =>
      run(
        {
          files: { [`${home}/.docker/config.json`]: config({ auths: { "ghcr.io": { auth: 5, password: [secret] } } }) }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(credentials.get("ghcr.io"))
            expect(error.detail).toContain('["auths"]["ghcr.io"]["auth"]')
            expect(error.detail).toContain('["auths"]["ghcr.io"]["password"]')
            expect(error.cause).toMatchObject({ _tag: "DecodeError", reason: "schema" })
            expectNoSecret(error)
          })
      )
    )

    it.effect("an auth that is not base64 of user:password is a CredentialError naming the key, not the value", () =>
      run(
        { files: { [`${home}/.docker/config.json`]: config({ auths: { "ghcr.io": { auth: base64(secret) } } }) } },
        ({ credentials }) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(credentials.get("ghcr.io"))
            expect(error.detail).toContain('auths["ghcr.io"].auth')
            expect(error).toMatchObject({ operation: "get", reason: "invalid" })
            expectNoSecret(error, base64(secret))
          })
      )
    )

    it.effect("an unreadable config.json is a CredentialError whose cause is a ReadError", () =>
      Effect.gen(function* () {
        const error = yield* run({ files: { [`${home}/.docker/config.json`]: "{}" } }, ({ credentials, memory }) =>
          Effect.gen(function* () {
            memory.inject("readFile", "EACCES")
            return yield* Effect.flip(credentials.get("ghcr.io"))
          })
        )
        expect(error._tag).toBe("CredentialError")
        expect(error).toMatchObject({ operation: "get", reason: "io" })
        expect(error.cause).toMatchObject({ _tag: "ReadError", reason: "permission" })
      })
    )

    it.effect("a registry that is not host[:port] is refused", () =>
      run({}, ({ credentials }) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(credentials.get("__proto__"))
          expect(error._tag).toBe("CredentialError")
          expect(error).toMatchObject({ operation: "get", reason: "invalid" })
          expect(error.source).toBeUndefined()
          expect(error.message).toMatch(/^cannot get credentials for __proto__: .*host\[:port\]/)
          expect(error.detail).toContain("host[:port]")
        })
      )
    )
  })

  describe("get through credential helpers", () => {
    const hubKey = "https://index.docker.io/v1/"

    it.effect("credHelpers[registry], then credsStore, then auths; each asked with docker's server URL", () =>
      Effect.gen(function* () {
        const special = new Map([["ghcr.io", { Username: "special", Secret: "p" }]])
        const store = new Map([
          ["quay.io", { Username: "store", Secret: "p" }],
          [hubKey, { Username: "hub", Secret: "p" }]
        ])
        const calls = yield* run(
          {
            files: {
              [`${home}/.docker/config.json`]: config({
                credHelpers: { "ghcr.io": "special", "https://index.docker.io/v1/": "special" },
                credsStore: "store",
                auths: { "ghcr.io": { auth: base64("file:p") }, "x.io": { auth: base64("file:p") } }
              })
            },
            helpers: {
              "docker-credential-special": memoryHelper(special),
              "docker-credential-store": memoryHelper(store)
            }
          },
          ({ credentials, calls }) =>
            Effect.gen(function* () {
              const user = (registry: string) =>
                Effect.map(
                  credentials.get(registry),
                  Option.map((found) => (found._tag === "Password" ? found.username : ""))
                )
              expect(yield* user("ghcr.io")).toEqual(Option.some("special"))
              expect(yield* user("quay.io")).toEqual(Option.some("store"))
              // The registry's own helper has nothing: credsStore is asked next.
              expect(yield* user("docker.io")).toEqual(Option.some("hub"))
              expect(yield* user("x.io")).toEqual(Option.some("file"))
              return calls
            })
        )
        expect(calls.map((call) => `${call.program} ${call.action} ${call.stdin}`)).toEqual([
          "docker-credential-special get ghcr.io",
          "docker-credential-store get quay.io",
          `docker-credential-special get ${hubKey}`,
          `docker-credential-store get ${hubKey}`,
          "docker-credential-store get x.io"
        ])
      })
    )

    it.effect("a helper's <token> user is an identity token", () =>
      run(
        {
          files: { [`${home}/.docker/config.json`]: config({ credsStore: "t" }) },
          helpers: {
            "docker-credential-t": memoryHelper(new Map([["ghcr.io", { Username: "<token>", Secret: "refresh" }]]))
          }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("ghcr.io")).toEqual(Option.some({ _tag: "IdentityToken", token: "refresh" }))
          })
      )
    )

    it.effect("helpers are looked up on the PATH the Config gives", () =>
      run(
        {
          env: { HOME: home, PATH: "/opt/helpers:/usr/bin" },
          files: { [`${home}/.docker/config.json`]: config({ credsStore: "t" }) },
          helpers: { "docker-credential-t": memoryHelper(new Map()) }
        },
        ({ credentials, calls }) =>
          Effect.gen(function* () {
            expect(yield* credentials.get("ghcr.io")).toEqual(Option.none())
            expect(calls[0]?.env).toEqual({ PATH: "/opt/helpers:/usr/bin" })
          })
      )
    )

    it.effect("a helper that is not installed is a CredentialError naming it", () =>
      run({ files: { [`${home}/.docker/config.json`]: config({ credsStore: "desktop" }) } }, ({ credentials }) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(credentials.get("ghcr.io"))
          expect(error._tag).toBe("CredentialError")
          expect(error.source).toBe("docker-credential-desktop")
          expect(error).toMatchObject({ operation: "get", reason: "helper" })
          expect(error.detail).toContain("not installed or not on PATH")
          expect(error.message).toContain("docker-credential-desktop")
        })
      )
    )

    it.effect("a failing helper is a CredentialError that never quotes what it printed", () =>
      run(
        {
          files: { [`${home}/.docker/config.json`]: config({ credsStore: "leaky" }) },
          helpers: { "docker-credential-leaky": () => ({ exitCode: 3, stdout: `oops: ${secret}\n` }) }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(credentials.get("ghcr.io"))
            expect(error.source).toBe("docker-credential-leaky")
            expect(error.detail).toBe('"get" exited with code 3')
            expectNoSecret(error)
          })
      )
    )

    it.effect("an answer that is not the protocol's JSON is a CredentialError that does not quote it", () =>
      run(
        {
          files: { [`${home}/.docker/config.json`]: config({ credsStore: "odd" }) },
          helpers: { "docker-credential-odd": () => ({ exitCode: 0, stdout: `{"Secret": "${secret}"}` }) }
        },
        ({ credentials }) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(credentials.get("ghcr.io"))
            expect(error.detail).toContain("answered something other than")
            expectNoSecret(error)
          })
      )
    )
  })

  describe("store", () => {
    const path = `${home}/.docker/config.json`

    it.effect("writes auths[host].auth into a new config.json, mode 0600, in a new 0700 directory", () =>
      run({}, ({ credentials, memory }) =>
        Effect.gen(function* () {
          const stored = yield* credentials.store("ghcr.io", { username: "user", password: secret })
          expect(stored).toEqual({ _tag: "ConfigFile", location: path })
          expect(JSON.parse(memory.readText(path) ?? "")).toEqual({
            auths: { "ghcr.io": { auth: base64(`user:${secret}`) } }
          })
          expect(memory.mode(path)).toBe(0o600)
          expect(memory.mode(`${home}/.docker`)).toBe(0o700)
          expect(yield* credentials.get("ghcr.io")).toEqual(
            Option.some({ _tag: "Password", username: "user", password: secret })
          )
          expect(Object.keys(memory.files()).filter((file) => file.startsWith(`${home}/.docker/`))).toEqual([path])
        })
      )
    )

    it.effect("keeps every other field, entry and unknown key; replaces the registry's other spellings", () =>
      run(
        {
          files: {
            [path]: config({
              auths: {
                "https://ghcr.io": { auth: base64("old:old") },
                "ghcr.io": { auth: base64("old:old"), email: "me@example.com", future: 1 },
                "quay.io": { auth: base64("q:q") }
              },
              credHelpers: { "gcr.io": "gcloud" },
              psFormat: "table {{.ID}}",
              plugins: { x: { y: "z" } }
            })
          }
        },
        ({ credentials, memory }) =>
          Effect.gen(function* () {
            yield* credentials.store("ghcr.io", { username: "new", password: "pw" })
            expect(JSON.parse(memory.readText(path) ?? "")).toEqual({
              auths: {
                "quay.io": { auth: base64("q:q") },
                "ghcr.io": { email: "me@example.com", future: 1, auth: base64("new:pw") }
              },
              credHelpers: { "gcr.io": "gcloud" },
              psFormat: "table {{.ID}}",
              plugins: { x: { y: "z" } }
            })
          })
      )
    )

    it.effect("Docker Hub goes under https://index.docker.io/v1/", () =>
      run({}, ({ credentials, memory }) =>
        Effect.gen(function* () {
          yield* credentials.store("index.docker.io", { username: "u", password: "p" })
          expect(Object.keys(JSON.parse(memory.readText(path) ?? "").auths)).toEqual(["https://index.docker.io/v1/"])
        })
      )
    )

    it.effect("goes to the configured helper with docker's JSON on stdin, and drops a plain-text copy", () =>
      Effect.gen(function* () {
        const held = new Map<string, { Username: string; Secret: string }>()
        const { calls, text } = yield* run(
          {
            files: {
              [path]: config({ credsStore: "keys", auths: { "ghcr.io": { auth: base64("old:old") }, "quay.io": {} } })
            },
            helpers: { "docker-credential-keys": memoryHelper(held) }
          },
          ({ credentials, memory, calls }) =>
            Effect.gen(function* () {
              const stored = yield* credentials.store("ghcr.io", { username: "u", password: secret })
              expect(stored).toEqual({ _tag: "Helper", location: "docker-credential-keys" })
              return { calls, text: memory.readText(path) ?? "" }
            })
        )
        expect(held.get("ghcr.io")).toEqual({ Username: "u", Secret: secret })
        expect(calls.map((call) => call.action)).toEqual(["store"])
        expect(JSON.parse(calls[0]?.stdin ?? "")).toEqual({ ServerURL: "ghcr.io", Username: "u", Secret: secret })
        expect(JSON.parse(text)).toEqual({ credsStore: "keys", auths: { "quay.io": {} } })
        expect(text).not.toContain(base64("old:old"))
      })
    )

    it.effect("a helper's failure message is kept unless it repeats the secret", () =>
      Effect.gen(function* () {
        const failing = (stdout: string) =>
          run(
            {
              files: { [path]: config({ credsStore: "f" }) },
              helpers: { "docker-credential-f": () => ({ exitCode: 1, stdout }) }
            },
            ({ credentials }) => Effect.flip(credentials.store("ghcr.io", { username: "u", password: secret }))
          )
        const locked = yield* failing("keychain is locked\n")
        expect(locked.detail).toBe('"store" exited with code 1: keychain is locked')
        expect(locked).toMatchObject({ operation: "store", reason: "helper" })
        expect(locked.message).toBe(
          'cannot store credentials for ghcr.io in docker-credential-f: "store" exited with code 1: keychain is locked.'
        )
        const echoed = yield* failing(`bad secret ${secret}\n`)
        expect(echoed.detail).toBe('"store" exited with code 1')
        expectNoSecret(echoed)
      })
    )

    it.effect(
      "a config.json that cannot be written is a CredentialError whose cause is a WriteError; the old file stays",
      () =>
        Effect.gen(function* () {
          const before = config({ auths: { "quay.io": { auth: base64("q:q") } } })
          const { error, after } = yield* run({ files: { [path]: before } }, ({ credentials, memory }) =>
            Effect.gen(function* () {
              memory.setReadOnly(true)
              const error = yield* Effect.flip(credentials.store("ghcr.io", { username: "u", password: secret }))
              return { error, after: memory.readText(path) }
            })
          )
          expect(error._tag).toBe("CredentialError")
          expect(error.source).toBe(path)
          expect(error).toMatchObject({ operation: "store", reason: "io" })
          expect(error.message.startsWith(`cannot store credentials for ghcr.io in ${path}: cannot write it`)).toBe(
            true
          )
          expect(error.cause).toMatchObject({ _tag: "WriteError", reason: "read-only" })
          expect(after).toBe(before)
          expectNoSecret(error)
        })
    )

    it.effect("refuses a user name with a colon, which base64 user:password cannot hold", () =>
      run({}, ({ credentials }) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(credentials.store("ghcr.io", { username: "a:b", password: secret }))
          expect(error.detail).toContain("cannot contain ':'")
          expect(error).toMatchObject({ operation: "store", reason: "invalid" })
          expect(error.source).toBeUndefined()
          expectNoSecret(error)
        })
      )
    )

    it.effect("with neither HOME nor DOCKER_CONFIG there is nowhere to store: a CredentialError says so", () =>
      run({ env: {} }, ({ credentials }) =>
        Effect.gen(function* () {
          expect(yield* credentials.get("ghcr.io")).toEqual(Option.none())
          const error = yield* Effect.flip(credentials.store("ghcr.io", { username: "u", password: "p" }))
          expect(error.detail).toContain("neither DOCKER_CONFIG nor HOME is set")
          expect(error).toMatchObject({ operation: "store", reason: "no-config" })
          expect(yield* Effect.flip(credentials.erase("ghcr.io"))).toMatchObject({
            operation: "erase",
            reason: "no-config"
          })
        })
      )
    )
  })

  describe("erase", () => {
    const path = `${home}/.docker/config.json`

    it.effect("removes every key naming the registry and keeps the rest; false when there was none", () =>
      run(
        {
          files: {
            [path]: config({
              auths: {
                "ghcr.io": { auth: base64("u:p") },
                "https://ghcr.io/v1/": { auth: base64("u:p") },
                "quay.io": {}
              },
              other: true
            })
          }
        },
        ({ credentials, memory }) =>
          Effect.gen(function* () {
            expect(yield* credentials.erase("ghcr.io")).toBe(true)
            expect(JSON.parse(memory.readText(path) ?? "")).toEqual({ auths: { "quay.io": {} }, other: true })
            expect(yield* credentials.get("ghcr.io")).toEqual(Option.none())
            expect(yield* credentials.erase("ghcr.io")).toBe(false)
            expect(yield* credentials.erase("nothing.io")).toBe(false)
          })
      )
    )

    it.effect("erases from the configured helper", () =>
      Effect.gen(function* () {
        const held = new Map([["ghcr.io", { Username: "u", Secret: "p" }]])
        yield* run(
          {
            files: { [path]: config({ credsStore: "keys" }) },
            helpers: { "docker-credential-keys": memoryHelper(held) }
          },
          ({ credentials }) =>
            Effect.gen(function* () {
              expect(yield* credentials.erase("ghcr.io")).toBe(true)
              expect(yield* credentials.erase("ghcr.io")).toBe(false)
            })
        )
        expect(held.size).toBe(0)
      })
    )

    it.effect("a failure to erase says so: a config.json that cannot be written, a helper that fails", () =>
      Effect.gen(function* () {
        const unwritable = yield* run(
          { files: { [path]: config({ auths: { "ghcr.io": { auth: base64(`u:${secret}`) } } }) } },
          ({ credentials, memory }) =>
            Effect.gen(function* () {
              memory.setReadOnly(true)
              return yield* Effect.flip(credentials.erase("ghcr.io"))
            })
        )
        expect(unwritable).toMatchObject({ _tag: "CredentialError", operation: "erase", reason: "io", source: path })
        expect(unwritable.message.startsWith(`cannot erase credentials for ghcr.io in ${path}: cannot write it`)).toBe(
          true
        )
        expectNoSecret(unwritable)
        const helper = yield* run(
          {
            files: { [path]: config({ credsStore: "f" }) },
            helpers: { "docker-credential-f": () => ({ exitCode: 1, stdout: "keychain is locked\n" }) }
          },
          ({ credentials }) => Effect.flip(credentials.erase("ghcr.io"))
        )
        expect(helper).toMatchObject({ operation: "erase", reason: "helper", source: "docker-credential-f" })
        expect(helper.message).toBe(
          'cannot erase credentials for ghcr.io in docker-credential-f: "erase" exited with code 1: keychain is locked.'
        )
        const unreadable = yield* run({ files: { [path]: "{" } }, ({ credentials }) =>
          Effect.flip(credentials.erase("ghcr.io"))
        )
        expect(unreadable).toMatchObject({ operation: "erase", reason: "invalid", source: path })
      })
    )

    it.effect("without a config.json there is nothing to erase", () =>
      run({}, ({ credentials, memory }) =>
        Effect.gen(function* () {
          expect(yield* credentials.erase("ghcr.io")).toBe(false)
          expect(memory.readText(path)).toBeUndefined()
        })
      )
    )
  })

  describe("layerStatic", () => {
    it.effect("holds credentials in memory, Docker Hub's aliases as one", () =>
      Effect.gen(function* () {
        const credentials = yield* Credentials.CredentialStore
        expect(yield* credentials.get("index.docker.io")).toEqual(Option.some({ _tag: "IdentityToken", token: "t" }))
        expect(yield* credentials.store("ghcr.io", { username: "u", password: "p" })).toEqual({
          _tag: "ConfigFile",
          location: "memory"
        })
        expect(yield* credentials.get("ghcr.io")).toEqual(
          Option.some({ _tag: "Password", username: "u", password: "p" })
        )
        expect(yield* credentials.erase("ghcr.io")).toBe(true)
        expect(yield* credentials.erase("ghcr.io")).toBe(false)
      }).pipe(Effect.provide(Credentials.layerStatic({ "docker.io": { _tag: "IdentityToken", token: "t" } })))
    )
  })
})
