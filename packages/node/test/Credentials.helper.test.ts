import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import type { CredentialError } from "@ocidx/core/Errors"
import { tempDir } from "@ocidx/testkit/TempDir"
import { ConfigProvider, Effect, Option } from "effect"

const secret = "n0de-s3cret-Pa55"

// docker-credential-helpers' protocol, with the store a JSON file beside the script. `leak` misbehaves: it
// prints the secret it holds and fails, as a broken helper might.
const fakeHelper = `#!/usr/bin/env node
const fs = require("node:fs")
const path = require("node:path")
const file = path.join(__dirname, "store.json")
const held = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {}
const input = fs.readFileSync(0, "utf8")
const save = () => fs.writeFileSync(file, JSON.stringify(held))
switch (process.argv[2]) {
  case "get":
    if (held.leak) { process.stdout.write("cannot decrypt " + held.leak.Secret + "\\n"); process.exit(2) }
    if (!held[input]) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1) }
    process.stdout.write(JSON.stringify({ ServerURL: input, ...held[input] }))
    break
  case "store": {
    const request = JSON.parse(input)
    held[request.ServerURL] = { Username: request.Username, Secret: request.Secret }
    save()
    break
  }
  case "erase":
    if (!held[input]) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1) }
    delete held[input]
    save()
    break
  default:
    process.exit(3)
}
`

interface Setup {
  readonly root: string
  readonly bin: string
  readonly configDir: string
}

const setup = Effect.gen(function* () {
  const root = yield* tempDir
  const bin = NodePath.join(root, "bin")
  const configDir = NodePath.join(root, "docker")
  NodeFs.mkdirSync(bin)
  NodeFs.mkdirSync(configDir)
  NodeFs.writeFileSync(NodePath.join(bin, "docker-credential-fake"), fakeHelper, { mode: 0o755 })
  return { root, bin, configDir } satisfies Setup
})

const withEnv = (env: Setup, extra: Record<string, string> = {}) =>
  Effect.withConfigProvider(
    ConfigProvider.fromMap(
      new Map(
        Object.entries({
          DOCKER_CONFIG: env.configDir,
          PATH: `${env.bin}${NodePath.delimiter}${process.env.PATH ?? ""}`,
          ...extra
        })
      )
    )
  )

const writeConfig = (env: Setup, value: unknown) =>
  NodeFs.writeFileSync(NodePath.join(env.configDir, "config.json"), JSON.stringify(value))

const helperStore = (env: Setup): unknown => {
  const file = NodePath.join(env.bin, "store.json")
  return NodeFs.existsSync(file) ? JSON.parse(NodeFs.readFileSync(file, "utf8")) : {}
}

const expectNoSecret = (error: CredentialError) => {
  for (const text of [error.message, String(error), JSON.stringify(error)]) expect(text).not.toContain(secret)
}

describe("Credentials with real helper processes", () => {
  it.scopedLive(
    "store, get and erase go through docker-credential-<credsStore> found on the configured PATH",
    () =>
      Effect.gen(function* () {
        const env = yield* setup
        writeConfig(env, {
          credsStore: "fake",
          auths: { "localhost:5000": { auth: Buffer.from("old:old").toString("base64") } }
        })
        yield* Effect.gen(function* () {
          const credentials = yield* Credentials.make()
          const stored = yield* credentials.store("localhost:5000", { username: "alice", password: secret })
          expect(stored).toEqual({ _tag: "Helper", location: "docker-credential-fake" })
          expect(helperStore(env)).toEqual({ "localhost:5000": { Username: "alice", Secret: secret } })
          // The plain-text copy from before the helper went; config.json never holds the new secret.
          const configText = NodeFs.readFileSync(NodePath.join(env.configDir, "config.json"), "utf8")
          expect(JSON.parse(configText)).toEqual({ credsStore: "fake", auths: {} })

          expect(yield* credentials.get("localhost:5000")).toEqual(
            Option.some({ _tag: "Password", username: "alice", password: secret })
          )
          expect(yield* credentials.get("ghcr.io")).toEqual(Option.none())
          expect(yield* credentials.erase("localhost:5000")).toBe(true)
          expect(yield* credentials.get("localhost:5000")).toEqual(Option.none())
          expect(yield* credentials.erase("localhost:5000")).toBe(false)
        }).pipe(withEnv(env))
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "a helper's <token> answer is an identity token; Docker Hub is asked as https://index.docker.io/v1/",
    () =>
      Effect.gen(function* () {
        const env = yield* setup
        writeConfig(env, { credHelpers: { "index.docker.io": "fake" } })
        NodeFs.writeFileSync(
          NodePath.join(env.bin, "store.json"),
          JSON.stringify({ "https://index.docker.io/v1/": { Username: "<token>", Secret: secret } })
        )
        const found = yield* Effect.flatMap(Credentials.make(), (credentials) => credentials.get("docker.io")).pipe(
          withEnv(env)
        )
        expect(found).toEqual(Option.some({ _tag: "IdentityToken", token: secret }))
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "a helper that fails is a CredentialError naming it, without what it printed",
    () =>
      Effect.gen(function* () {
        const env = yield* setup
        writeConfig(env, { credsStore: "fake" })
        NodeFs.writeFileSync(NodePath.join(env.bin, "store.json"), JSON.stringify({ leak: { Secret: secret } }))
        const error = yield* Effect.flatMap(Credentials.make(), (credentials) => credentials.get("ghcr.io")).pipe(
          withEnv(env),
          Effect.flip
        )
        expect(error._tag).toBe("CredentialError")
        expect(error.source).toBe("docker-credential-fake")
        expect(error.detail).toBe('"get" exited with code 2')
        expect(error).toMatchObject({ operation: "get", reason: "helper" })
        expect(error.message).toBe(
          'cannot get credentials for ghcr.io in docker-credential-fake: "get" exited with code 2.'
        )
        expectNoSecret(error)
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "a helper not on PATH is a CredentialError saying to install it",
    () =>
      Effect.gen(function* () {
        const env = yield* setup
        writeConfig(env, { credsStore: "missing" })
        const error = yield* Effect.flatMap(Credentials.make(), (credentials) => credentials.get("ghcr.io")).pipe(
          withEnv(env),
          Effect.flip
        )
        expect(error.source).toBe("docker-credential-missing")
        expect(error).toMatchObject({ operation: "get", reason: "helper" })
        expect(error.detail).toContain("not installed or not on PATH")
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "config.json on disk: written 0600, through a symbolic link to where it points",
    () =>
      Effect.gen(function* () {
        const env = yield* setup
        const real = NodePath.join(env.root, "dotfiles-config.json")
        NodeFs.writeFileSync(real, JSON.stringify({ psFormat: "x" }), { mode: 0o644 })
        NodeFs.symlinkSync(real, NodePath.join(env.configDir, "config.json"))
        yield* Effect.flatMap(Credentials.make(), (credentials) =>
          credentials.store("ghcr.io", { username: "u", password: secret })
        ).pipe(withEnv(env))
        expect(NodeFs.lstatSync(NodePath.join(env.configDir, "config.json")).isSymbolicLink()).toBe(true)
        expect(NodeFs.statSync(real).mode & 0o777).toBe(0o600)
        expect(JSON.parse(NodeFs.readFileSync(real, "utf8"))).toEqual({
          psFormat: "x",
          auths: { "ghcr.io": { auth: Buffer.from(`u:${secret}`).toString("base64") } }
        })
        expect(NodeFs.readdirSync(env.root).sort()).toEqual(["bin", "docker", "dotfiles-config.json"])
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
