/**
 * `ocidx login` and `ocidx logout` end to end: the built bundle, a temp `$DOCKER_CONFIG`, and a real registry
 * (docker-registry with htpasswd or token auth) to check the credentials against.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Registry from "@ocidx/testkit/Registry"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ocidx, type RunResult } from "./support/cli.js"

const secret = "l0gin-Secr3t-value"

/** The environment of an `ocidx` whose only credentials are in `dockerConfig` (empty is unset to ocidx). */
const envOf = (root: string, dockerConfig: string): Record<string, string> => ({
  HOME: root,
  DOCKER_CONFIG: dockerConfig,
  REGISTRY_AUTH_FILE: "",
  XDG_RUNTIME_DIR: ""
})

const run = (args: ReadonlyArray<string>, dockerConfig: string, root: string, input?: string) =>
  ocidx(args, { env: envOf(root, dockerConfig), ...(input === undefined ? {} : { input }) })

const expectNoSecret = (result: RunResult, user: string, password: string) => {
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toContain(password)
    expect(text).not.toContain(Buffer.from(`${user}:${password}`).toString("base64"))
  }
}

const readConfig = (dockerConfig: string): unknown =>
  JSON.parse(NodeFs.readFileSync(NodePath.join(dockerConfig, "config.json"), "utf8"))

// docker-credential-helpers' protocol, the store a JSON file beside the script.
const fakeHelper = `#!/usr/bin/env node
const fs = require("node:fs")
const path = require("node:path")
const file = path.join(__dirname, "store.json")
const held = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {}
const input = fs.readFileSync(0, "utf8")
const action = process.argv[2]
if (action === "store") {
  const request = JSON.parse(input)
  held[request.ServerURL] = { Username: request.Username, Secret: request.Secret }
  fs.writeFileSync(file, JSON.stringify(held))
} else if (action === "get" && held[input]) {
  process.stdout.write(JSON.stringify({ ServerURL: input, ...held[input] }))
} else {
  process.stdout.write("credentials not found in native keychain\\n")
  process.exit(1)
}
`

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64")

describe("ocidx login / logout without a registry", () => {
  it.scopedLive(
    "refuses a password given as an argument (exit 2), saying to use --password-stdin, and does not echo it",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        for (const flag of ["--password", "-p"]) {
          const result = yield* run(["login", "ghcr.io", "-u", "me", flag, secret], dockerConfig, root)
          expect(result.code).toBe(2)
          expect(result.stderr).toContain("--password-stdin")
          expect(result.stdout).toBe("")
          expectNoSecret(result, "me", secret)
        }
        expect(NodeFs.existsSync(dockerConfig)).toBe(false)
      }),
    120_000
  )

  it.scopedLive(
    "wants -u and --password-stdin (exit 2), a registry that is host[:port] (exit 65), and a password",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const noStdin = yield* run(["login", "ghcr.io", "-u", "me"], dockerConfig, root, `${secret}\n`)
        expect(noStdin.code).toBe(2)
        expect(noStdin.stderr).toContain("--password-stdin")
        const noUser = yield* run(["login", "ghcr.io", "--password-stdin"], dockerConfig, root, `${secret}\n`)
        expect(noUser.code).toBe(2)
        const badRegistry = yield* run(
          ["login", "not a host", "-u", "me", "--password-stdin"],
          dockerConfig,
          root,
          secret
        )
        expect(badRegistry.code).toBe(65)
        expect(badRegistry.stderr).toContain("host[:port]")
        const empty = yield* run(["login", "ghcr.io", "-u", "me", "--password-stdin"], dockerConfig, root, "\n")
        expect(empty.code).toBe(2)
        expect(empty.stderr).toBe("ocidx: the password read from standard input is empty\n")
        for (const result of [noStdin, noUser, badRegistry]) expectNoSecret(result, "me", secret)
        expect(NodeFs.existsSync(dockerConfig)).toBe(false)
      }),
    120_000
  )

  it.scopedLive(
    "a --ca-file that cannot be read is exit 74 naming it, and nothing is stored",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const caFile = NodePath.join(root, "missing-ca.pem")
        const result = yield* run(
          ["login", "ghcr.io", "-u", "me", "--password-stdin", "--ca-file", caFile],
          dockerConfig,
          root,
          secret
        )
        expect(result.code).toBe(74)
        expect(result.stderr).toContain(caFile)
        expectNoSecret(result, "me", secret)
        expect(NodeFs.existsSync(dockerConfig)).toBe(false)
      }),
    120_000
  )

  it.scopedLive(
    "logout removes the registry's credentials from config.json, keeps everything else, and says when there were none",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        NodeFs.mkdirSync(dockerConfig)
        NodeFs.writeFileSync(
          NodePath.join(dockerConfig, "config.json"),
          JSON.stringify({
            auths: {
              "ghcr.io": { auth: basic("me", secret) },
              "https://ghcr.io": { auth: basic("me", secret) },
              "quay.io": { auth: basic("q", "q") }
            },
            psFormat: "table"
          })
        )
        const out = yield* run(["logout", "https://ghcr.io"], dockerConfig, root)
        expect(out.code).toBe(0)
        expect(out.stdout).toBe("ghcr.io: logged out; credentials removed\n")
        expect(readConfig(dockerConfig)).toEqual({ auths: { "quay.io": { auth: basic("q", "q") } }, psFormat: "table" })
        const again = yield* run(["logout", "ghcr.io"], dockerConfig, root)
        expect(again.code).toBe(0)
        expect(again.stdout).toBe("ghcr.io: not logged in; nothing to remove\n")
        for (const result of [out, again]) expectNoSecret(result, "me", secret)
      }),
    120_000
  )

  it.scopedLive(
    "a config.json that is not JSON fails logout with exit 65 naming it, quoting nothing from it",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        NodeFs.mkdirSync(dockerConfig)
        NodeFs.writeFileSync(NodePath.join(dockerConfig, "config.json"), `{"auths": {"ghcr.io": {"auth": "${secret}"`)
        const result = yield* run(["logout", "ghcr.io"], dockerConfig, root)
        expect(result.code).toBe(65)
        expect(result.stderr).toContain(NodePath.join(dockerConfig, "config.json"))
        expectNoSecret(result, "me", secret)
      }),
    120_000
  )
})

describe.skipIf(Registry.unavailable !== undefined)("ocidx login against a real registry", () => {
  let registry: Registry.Registry
  let release: () => Promise<void> = async () => {}
  beforeAll(async () => {
    const acquired = await Registry.acquire(Registry.make({ auth: "htpasswd" }))
    registry = acquired.value
    release = acquired.release
  }, 120_000)
  afterAll(() => release(), 120_000)

  it.scopedLive(
    "stores what the registry accepts in config.json (mode 0600), prints where, never the secret; logout removes it",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const { host, username, password } = registry
        const login = yield* run(
          ["login", host, "-u", username, "--password-stdin"],
          dockerConfig,
          root,
          `${password}\n`
        )
        expect(login.stderr).toBe("")
        expect(login.code).toBe(0)
        expect(login.stdout).toBe(
          `${host}: logged in; credentials stored in ${NodePath.join(dockerConfig, "config.json")}\n`
        )
        expectNoSecret(login, username, password)
        // The newline that ended the input is not part of the password.
        expect(readConfig(dockerConfig)).toEqual({ auths: { [host]: { auth: basic(username, password) } } })
        expect(NodeFs.statSync(NodePath.join(dockerConfig, "config.json")).mode & 0o777).toBe(0o600)

        const logout = yield* run(["logout", host], dockerConfig, root)
        expect(logout.code).toBe(0)
        expect(logout.stdout).toBe(`${host}: logged out; credentials removed\n`)
        expect(readConfig(dockerConfig)).toEqual({ auths: {} })
      }),
    120_000
  )

  it.scopedLive(
    "a wrong password is exit 77, stores nothing and prints no secret",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const result = yield* run(
          ["login", registry.host, "-u", registry.username, "--password-stdin"],
          dockerConfig,
          root,
          secret
        )
        expect(result.code).toBe(77)
        expect(result.stdout).toBe("")
        expect(result.stderr).toContain(registry.host)
        expect(result.stderr.trim().split("\n")).toHaveLength(1)
        expectNoSecret(result, registry.username, secret)
        expect(NodeFs.existsSync(dockerConfig)).toBe(false)
      }),
    120_000
  )

  it.scopedLive(
    "a config.json that cannot be written is exit 74, and the secret is not printed",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        // DOCKER_CONFIG under a regular file: the directory cannot be made, by root or anyone.
        NodeFs.writeFileSync(NodePath.join(root, "file"), "")
        const dockerConfig = NodePath.join(root, "file", "docker")
        const { host, username, password } = registry
        const result = yield* run(["login", host, "-u", username, "--password-stdin"], dockerConfig, root, password)
        expect(result.code).toBe(74)
        expect(result.stdout).toBe("")
        expect(result.stderr).toContain(NodePath.join(dockerConfig, "config.json"))
        expectNoSecret(result, username, password)
      }),
    120_000
  )
  it.scopedLive(
    "with a credsStore, login stores in the helper (found on PATH) and config.json never holds the secret",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const bin = NodePath.join(root, "bin")
        NodeFs.mkdirSync(dockerConfig)
        NodeFs.mkdirSync(bin)
        NodeFs.writeFileSync(NodePath.join(bin, "docker-credential-fake"), fakeHelper, { mode: 0o755 })
        NodeFs.writeFileSync(NodePath.join(dockerConfig, "config.json"), JSON.stringify({ credsStore: "fake" }))
        const { host, username, password } = registry
        const result = yield* ocidx(["login", host, "-u", username, "--password-stdin"], {
          env: { ...envOf(root, dockerConfig), PATH: `${bin}${NodePath.delimiter}${process.env.PATH ?? ""}` },
          input: password
        })
        expect(result.stderr).toBe("")
        expect(result.code).toBe(0)
        expect(result.stdout).toBe(
          `${host}: logged in; credentials stored in the credential helper docker-credential-fake\n`
        )
        expectNoSecret(result, username, password)
        expect(JSON.parse(NodeFs.readFileSync(NodePath.join(bin, "store.json"), "utf8"))).toEqual({
          [host]: { Username: username, Secret: password }
        })
        expect(readConfig(dockerConfig)).toEqual({ credsStore: "fake" })
      }),
    120_000
  )
})

describe.skipIf(Registry.unavailable !== undefined)("ocidx login against a registry with token auth", () => {
  let registry: Registry.Registry
  let release: () => Promise<void> = async () => {}
  beforeAll(async () => {
    const acquired = await Registry.acquire(Registry.make({ auth: "token" }))
    registry = acquired.value
    release = acquired.release
  }, 120_000)
  afterAll(() => release(), 120_000)

  it.scopedLive(
    "logs in with the token the issuer gives for the user, and refuses a wrong password with 77",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const dockerConfig = NodePath.join(root, "docker")
        const { host, username, password } = registry
        const wrong = yield* run(["login", host, "-u", username, "--password-stdin"], dockerConfig, root, secret)
        expect(wrong.code).toBe(77)
        expectNoSecret(wrong, username, secret)
        expect(NodeFs.existsSync(dockerConfig)).toBe(false)
        const login = yield* run(["login", host, "-u", username, "--password-stdin"], dockerConfig, root, password)
        expect(login.stderr).toBe("")
        expect(login.code).toBe(0)
        expectNoSecret(login, username, password)
        expect(readConfig(dockerConfig)).toEqual({ auths: { [host]: { auth: basic(username, password) } } })
      }),
    120_000
  )
})
