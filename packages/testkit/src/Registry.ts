/**
 * A real OCI registry for end-to-end tests: Debian's `docker-registry` (distribution 2.8.2) on a free
 * 127.0.0.1 port with a temp root, in one of three auth configurations: none, htpasswd Basic, or token auth
 * against the `TokenIssuer` of this kit. The process and its directory go when the scope closes.
 */
import * as NodeFs from "node:fs"
import * as NodeNet from "node:net"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect, Exit, Scope as EffectScope } from "effect"
import { type Child, runOk, spawn } from "./Processes.js"
import { tempDir } from "./TempDir.js"
import * as TokenIssuer from "./TokenIssuer.js"
import { htpasswdPath, missing, opensslPath, registryPath } from "./Tools.js"

/** Why the registry tests cannot run here, or `undefined` when they can. */
export const unavailable: string | undefined = missing(
  ["docker-registry", registryPath],
  ["htpasswd", htpasswdPath],
  ["openssl", opensslPath]
)

export type AuthMode = "none" | "htpasswd" | "token"

export interface RegistryOptions {
  readonly auth: AuthMode
  /** Users besides the default one (htpasswd and token modes). */
  readonly users?: Readonly<Record<string, string>> | undefined
  /** Token mode: what each user gets of what it asks for (see `TokenIssuerOptions.grant`). */
  readonly grant?: TokenIssuer.TokenIssuerOptions["grant"]
}

export interface Registry {
  readonly auth: AuthMode
  /** `127.0.0.1:PORT`, as an image reference names it. */
  readonly host: string
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  /** A user the registry accepts (any credentials work in mode `none`). */
  readonly username: string
  readonly password: string
  /** The registry's temp directory: config, logs, credentials files and `data/` (the storage root). */
  readonly dir: string
  /** distribution's filesystem storage root. */
  readonly storage: string
  /** The file the registry's stdout and stderr (its log and access log) go to. */
  readonly logFile: string
  readonly logs: () => string
  /** Token mode: the issuer (and what it was asked). */
  readonly issuer: TokenIssuer.TokenIssuer | undefined
  /** Kills the registry; the port stays reserved for `start`. */
  readonly stop: Effect.Effect<void>
  /** Starts it again (after `stop`) on the same port and storage, waiting until it answers. */
  readonly start: Effect.Effect<void, Error>
  /**
   * A `$DOCKER_CONFIG` directory (made under `dir`) whose config.json holds `user:password` for this registry,
   * or for `host` (a proxy in front of it).
   */
  readonly dockerConfig: (user: string, password: string, host?: string) => string
}

const freePort: Effect.Effect<number, Error> = Effect.async((resume) => {
  const server = NodeNet.createServer()
  server.on("error", (error) => resume(Effect.fail(error)))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = address !== null && typeof address !== "string" ? address.port : 0
    server.close(() => resume(port === 0 ? Effect.fail(new Error("no free port")) : Effect.succeed(port)))
  })
})

/** Polls `GET /v2/` until the registry answers at all (200, or 401 when it wants credentials). */
const waitUntilUp = (url: string, child: Child, logs: () => string): Effect.Effect<void, Error> =>
  Effect.gen(function* () {
    const deadline = Date.now() + 60_000
    for (;;) {
      if (yield* child.hasExited) return yield* Effect.fail(new Error(`docker-registry exited at start:\n${logs()}`))
      const answered = yield* Effect.promise(() =>
        fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2_000) }).then(
          (response) => response.status === 200 || response.status === 401,
          () => false
        )
      )
      if (answered) return
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`docker-registry did not answer:\n${logs()}`))
      yield* Effect.sleep("50 millis")
    }
  })

const configYaml = (port: number, storage: string, auth: string): string =>
  [
    "version: 0.1",
    "log:",
    "  level: info",
    "  formatter: text",
    "  accesslog:",
    "    disabled: false",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(storage)}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: ocidx-test-not-a-secret",
    "  headers:",
    "    X-Content-Type-Options: [nosniff]",
    auth,
    ""
  ].join("\n")

/** Starts a registry; it is killed and its directory removed when the scope closes. */
export const make = (options: RegistryOptions): Effect.Effect<Registry, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const storage = NodePath.join(dir, "data")
    const logFile = NodePath.join(dir, "registry.log")
    const configFile = NodePath.join(dir, "config.yml")
    const username = "ocidx-user"
    const password = "s3cret-Pa55-for-tests"
    const users: Record<string, string> = { [username]: password, ...options.users }
    const port = yield* freePort
    const url = `http://127.0.0.1:${port}`

    let issuer: TokenIssuer.TokenIssuer | undefined
    let auth = ""
    if (options.auth === "htpasswd") {
      const lines: Array<string> = []
      for (const [user, pass] of Object.entries(users)) {
        lines.push((yield* runOk(htpasswdPath ?? "htpasswd", ["-Bbn", user, pass], { timeout: "30 seconds" })).trim())
      }
      const file = NodePath.join(dir, "htpasswd")
      NodeFs.writeFileSync(file, `${lines.join("\n")}\n`)
      auth = ["auth:", "  htpasswd:", "    realm: ocidx-test", `    path: ${JSON.stringify(file)}`].join("\n")
    } else if (options.auth === "token") {
      issuer = yield* TokenIssuer.make(dir, {
        service: `127.0.0.1:${port}`,
        issuer: "ocidx-test-issuer",
        users,
        grant: options.grant
      })
      auth = [
        "auth:",
        "  token:",
        `    realm: ${JSON.stringify(issuer.realm)}`,
        `    service: ${JSON.stringify(issuer.service)}`,
        `    issuer: ${JSON.stringify(issuer.issuer)}`,
        `    rootcertbundle: ${JSON.stringify(issuer.certificateFile)}`
      ].join("\n")
    }
    NodeFs.mkdirSync(storage)
    NodeFs.writeFileSync(configFile, configYaml(port, storage, auth))
    const logs = () => (NodeFs.existsSync(logFile) ? NodeFs.readFileSync(logFile, "utf8") : "")

    // Each run of the process lives in a scope of its own, so `stop` and `start` can end and begin one.
    let running: { scope: EffectScope.CloseableScope; child: Child } | undefined
    const stop = Effect.suspend(() => {
      const current = running
      running = undefined
      return current === undefined ? Effect.void : EffectScope.close(current.scope, Exit.void)
    })
    const start = Effect.gen(function* () {
      if (running !== undefined) return
      const scope = yield* EffectScope.make()
      // The shell only redirects: `exec` makes the registry the child that is killed.
      const child = yield* EffectScope.extend(
        spawn(
          "/bin/sh",
          ["-c", 'exec "$0" serve "$1" >>"$2" 2>&1', registryPath ?? "docker-registry", configFile, logFile],
          {
            // distribution reads REGISTRY_* variables over its config file.
            env: Object.fromEntries(
              Object.keys(process.env)
                .filter((name) => name.startsWith("REGISTRY_"))
                .map((name) => [name, undefined])
            )
          }
        ),
        scope
      )
      running = { scope, child }
      yield* Effect.tapError(waitUntilUp(url, child, logs), () => stop)
    })
    yield* Effect.addFinalizer(() => stop)
    yield* start

    const dockerConfig = (user: string, pass: string, host = `127.0.0.1:${port}`): string => {
      const configDir = NodeFs.mkdtempSync(NodePath.join(dir, "docker-config-"))
      const config = { auths: { [host]: { auth: Buffer.from(`${user}:${pass}`).toString("base64") } } }
      NodeFs.writeFileSync(NodePath.join(configDir, "config.json"), JSON.stringify(config, null, 2))
      return configDir
    }

    return {
      auth: options.auth,
      host: `127.0.0.1:${port}`,
      url,
      username,
      password,
      dir,
      storage,
      logFile,
      logs,
      issuer,
      stop,
      start,
      dockerConfig
    }
  })

/**
 * Acquires a scoped resource outside of an Effect test (a vitest `beforeAll`); `release` (for `afterAll`)
 * runs its finalizers.
 */
export const acquire = async <A>(
  resource: Effect.Effect<A, Error, Scope.Scope>
): Promise<{ readonly value: A; readonly release: () => Promise<void> }> => {
  const scope = Effect.runSync(EffectScope.make())
  const exit = await Effect.runPromiseExit(EffectScope.extend(resource, scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(EffectScope.close(scope, exit))
    throw new Error(`could not start the test resource: ${String(exit.cause)}`)
  }
  return { value: exit.value, release: () => Effect.runPromise(EffectScope.close(scope, Exit.void)) }
}
