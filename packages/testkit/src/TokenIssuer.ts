/**
 * A token server for a registry's `auth: token` (the docker token protocol): it checks Basic credentials and
 * issues ES256 JWTs whose `x5c` header carries the signing certificate, which the registry trusts as its
 * `rootcertbundle`. The key and the self-signed certificate are made with openssl at start (node:crypto makes
 * keys but not X.509 certificates).
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect } from "effect"
import { runOk } from "./Processes.js"
import { opensslPath } from "./Tools.js"

/** One `resourcetype:name:actions` scope as a registry asks for it, and as a token grants it. */
export interface Access {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/** What the issuer saw of one token request (never the credentials themselves). */
export interface TokenRequest {
  readonly service: string | null
  readonly scopes: ReadonlyArray<string>
  /** The user of a Basic Authorization header, whether or not the password was right. */
  readonly user: string | undefined
  readonly hadAuthorization: boolean
  /** 200 with a token, or 401. */
  readonly status: number
  /** The token issued, so tests can check that no output ever shows it. */
  readonly token: string | undefined
}

export interface TokenIssuerOptions {
  readonly service: string
  readonly issuer: string
  /** user -> password. */
  readonly users: Readonly<Record<string, string>>
  /**
   * What a user (or, as `undefined`, an anonymous client) gets of what it asked for. By default an
   * authenticated user gets everything it asked for and an anonymous client nothing (a token with an empty
   * `access`, as Docker Hub answers for a private repository).
   */
  readonly grant?: ((user: string | undefined, asked: Access) => ReadonlyArray<string>) | undefined
  /** Seconds a token is valid. */
  readonly expiresIn?: number | undefined
}

export interface TokenIssuer {
  /** `http://127.0.0.1:PORT/token`, the registry's `realm`. */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** PEM file of the signing certificate: the registry's `rootcertbundle`. */
  readonly certificateFile: string
  /** Every token request so far, in order. */
  readonly requests: () => ReadonlyArray<TokenRequest>
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url")

/** `repository:library/foo:pull,push` -> Access; the name may itself hold colons only as `host:port/...`. */
const parseScope = (scope: string): Access | undefined => {
  const first = scope.indexOf(":")
  const last = scope.lastIndexOf(":")
  if (first < 0 || last === first) return undefined
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(",")
      .filter((action) => action !== "")
  }
}

const basicUser = (header: string | undefined): { user: string; password: string } | undefined => {
  if (header === undefined || !header.toLowerCase().startsWith("basic ")) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Listens on 127.0.0.1 on a free port; closed when the scope closes. */
export const listen = (
  handler: NodeHttp.RequestListener
): Effect.Effect<NodeHttp.Server & { port: number }, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<NodeHttp.Server & { port: number }, Error>((resume) => {
      const server = NodeHttp.createServer(handler)
      server.on("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        if (address === null || typeof address === "string") {
          resume(Effect.fail(new Error("server has no TCP address")))
          return
        }
        resume(Effect.succeed(Object.assign(server, { port: address.port })))
      })
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** Starts an issuer whose key and certificate live in `dir`. */
export const make = (dir: string, options: TokenIssuerOptions): Effect.Effect<TokenIssuer, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const keyFile = NodePath.join(dir, "token-key.pem")
    const certificateFile = NodePath.join(dir, "token-cert.pem")
    yield* runOk(
      opensslPath ?? "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certificateFile,
        "-days",
        "2",
        "-subj",
        `/CN=${options.issuer}`
      ],
      { timeout: "30 seconds" }
    )
    const key = NodeCrypto.createPrivateKey(NodeFs.readFileSync(keyFile))
    const certificate = new NodeCrypto.X509Certificate(NodeFs.readFileSync(certificateFile))
    const header = base64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [certificate.raw.toString("base64")] }))
    const grant =
      options.grant ?? ((user: string | undefined, asked: Access) => (user === undefined ? [] : asked.actions))
    const requests: Array<TokenRequest> = []

    const sign = (user: string | undefined, access: ReadonlyArray<Access>): string => {
      const now = Math.floor(Date.now() / 1000)
      const claims = {
        iss: options.issuer,
        sub: user ?? "",
        aud: options.service,
        exp: now + (options.expiresIn ?? 300),
        // The registry and this process read the same clock, but allow for a token made in the same second.
        nbf: now - 10,
        iat: now,
        jti: NodeCrypto.randomUUID(),
        access
      }
      const input = `${header}.${base64url(JSON.stringify(claims))}`
      // JWS wants the raw r||s form, not DER.
      const signature = NodeCrypto.sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" })
      return `${input}.${base64url(signature)}`
    }

    const server = yield* listen((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1")
      const scopes = url.searchParams.getAll("scope").flatMap((scope) => scope.split(" "))
      const authorization = request.headers.authorization
      const basic = basicUser(authorization)
      const record = (status: number, token?: string) =>
        requests.push({
          service: url.searchParams.get("service"),
          scopes,
          user: basic?.user,
          hadAuthorization: authorization !== undefined,
          status,
          token
        })
      if (url.pathname !== "/token" || request.method !== "GET") {
        record(404)
        response.writeHead(404).end()
        return
      }
      const valid = basic !== undefined && options.users[basic.user] === basic.password
      if (authorization !== undefined && !valid) {
        record(401)
        response.writeHead(401, { "content-type": "application/json" })
        response.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] }))
        return
      }
      const user = valid ? basic.user : undefined
      const access = scopes
        .map(parseScope)
        .filter((asked): asked is Access => asked !== undefined)
        .map((asked) => ({ ...asked, actions: grant(user, asked) }))
        .filter((granted) => granted.actions.length > 0)
      const token = sign(user, access)
      record(200, token)
      response.writeHead(200, { "content-type": "application/json" })
      response.end(
        JSON.stringify({
          token,
          access_token: token,
          expires_in: options.expiresIn ?? 300,
          issued_at: new Date().toISOString()
        })
      )
    })

    return {
      realm: `http://127.0.0.1:${server.port}/token`,
      service: options.service,
      issuer: options.issuer,
      certificateFile,
      requests: () => requests
    }
  })
