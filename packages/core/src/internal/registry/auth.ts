/** @internal */
import * as HttpBody from "@effect/platform/HttpBody"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { type Credential, CredentialStore } from "../../Credentials.js"
import { RegistryError } from "../../Errors.js"
import type * as Challenge from "./challenge.js"
import * as Http from "./http.js"
import {
  type Call,
  decodeJson,
  errorFrom,
  type Exchange,
  type Failure,
  isRetryableStatus,
  protocolError,
  readDocument,
  Transient
} from "./protocol.js"

const toBase64 = (text: string): string => {
  const bytes = new TextEncoder().encode(text)
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

const TokenAnswer = Schema.Struct({
  token: Schema.optional(Schema.String),
  access_token: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number)
})

interface CachedToken {
  readonly header: string
  readonly expiresAt: number
}

/** What a registry asked for when it answered 401, and the tokens and credentials that answer it. @internal */
export interface Auth {
  /**
   * The Authorization header for `scopes`, from what the registry's last challenge asked for. `refused` is
   * the header the registry just refused (`null` when none was refused): a cached token is used unless it is
   * the refused one.
   */
  readonly authorize: (
    registry: string,
    scopes: ReadonlyArray<string>,
    refused: string | undefined | null
  ) => Effect.Effect<string | undefined, Failure>
  /** Remembers the challenge a registry answered with, for its later requests. */
  readonly challenged: (registry: string, challenge: Challenge.Challenge) => Effect.Effect<void>
}

/** @internal */
export const make = (exchange: Exchange): Effect.Effect<Auth, never, CredentialStore> =>
  Effect.gen(function* () {
    const credentials = yield* CredentialStore
    const challenges = yield* Ref.make(new Map<string, Challenge.Challenge>())
    const tokens = yield* Ref.make(new Map<string, CachedToken>())
    const credentialFor = yield* Effect.cachedFunction((registry: string) =>
      credentials.get(registry).pipe(
        Effect.mapError(
          (error) =>
            new RegistryError({
              registry,
              reason: "unauthorized",
              detail: `the credentials could not be read: ${error.message}`,
              cause: error
            })
        )
      )
    )

    const fetchToken = (
      registry: string,
      challenge: Challenge.Challenge,
      scopes: ReadonlyArray<string>
    ): Effect.Effect<CachedToken, Failure> =>
      Effect.gen(function* () {
        const realm = challenge.params.realm
        if (realm === undefined) {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge names no realm" })
          )
        }
        const credential = yield* credentialFor(registry)
        const service = challenge.params.service
        let url: URL
        try {
          url = new URL(realm)
        } catch {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge's realm is not a URL" })
          )
        }
        if (url.protocol !== "https:" && url.protocol !== "http:") {
          return yield* Effect.fail(
            new RegistryError({ registry, reason: "protocol", detail: "the Bearer challenge's realm is not http(s)" })
          )
        }
        let call: Call
        let authorization: string | undefined
        if (Option.isSome(credential) && credential.value._tag === "IdentityToken") {
          const form = new URLSearchParams({ grant_type: "refresh_token", client_id: "ocidx" })
          if (service !== undefined) form.set("service", service)
          if (scopes.length > 0) form.set("scope", scopes.join(" "))
          form.set("refresh_token", credential.value.token)
          const text = form.toString()
          call = {
            method: "POST",
            url: url.toString(),
            scopes: [],
            body: () => HttpBody.text(text, "application/x-www-form-urlencoded")
          }
        } else {
          if (service !== undefined) url.searchParams.set("service", service)
          for (const scope of scopes) url.searchParams.append("scope", scope)
          call = { method: "GET", url: url.toString(), scopes: [] }
          authorization = basicHeader(credential)
        }
        const response = yield* exchange(registry, call, call.url, authorization)
        if (response.status !== 200) {
          const error = yield* errorFrom(registry, response)
          if (isRetryableStatus(response.status)) {
            const now = yield* Clock.currentTimeMillis
            return yield* Effect.fail(new Transient(error, Http.retryAfter(Http.header(response, "retry-after"), now)))
          }
          return yield* Effect.fail(error)
        }
        const bytes = yield* readDocument(registry, response)
        const answer = yield* decodeJson(registry, response, bytes, TokenAnswer, "the token endpoint's answer")
        const token = answer.token ?? answer.access_token
        if (token === undefined || token === "") {
          return yield* Effect.fail(protocolError(registry, response, "the token endpoint gave no token"))
        }
        const now = yield* Clock.currentTimeMillis
        // Renew a little early; distribution's default lifetime is 60 s when none is given.
        const expiresIn = answer.expires_in ?? 60
        const lifetime = Math.max(expiresIn - 10, expiresIn / 2, 0) * 1000
        return { header: `Bearer ${token}`, expiresAt: now + lifetime }
      })

    const basicHeader = (credential: Option.Option<Credential>): string | undefined =>
      Option.isSome(credential) && credential.value._tag === "Password"
        ? `Basic ${toBase64(`${credential.value.username}:${credential.value.password}`)}`
        : undefined

    // One token request at a time: blobs sent in parallel share the token the first one fetched.
    const tokenLock = yield* Effect.makeSemaphore(1)

    const authorize = (
      registry: string,
      scopes: ReadonlyArray<string>,
      refused: string | undefined | null
    ): Effect.Effect<string | undefined, Failure> =>
      Effect.gen(function* () {
        const challenge = (yield* Ref.get(challenges)).get(registry)
        if (challenge === undefined) return undefined
        if (challenge.scheme === "basic") return basicHeader(yield* credentialFor(registry))
        const wanted = [...scopes]
        const extra = challenge.params.scope
        if (extra !== undefined) for (const scope of extra.split(" ")) if (!wanted.includes(scope)) wanted.push(scope)
        const key = `${registry}\n${wanted.join(" ")}`
        const cachedToken = Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const cached = (yield* Ref.get(tokens)).get(key)
          return cached !== undefined && cached.expiresAt > now && cached.header !== refused ? cached.header : undefined
        })
        const cached = yield* cachedToken
        if (cached !== undefined) return cached
        return yield* tokenLock.withPermits(1)(
          Effect.gen(function* () {
            const fetchedMeanwhile = yield* cachedToken
            if (fetchedMeanwhile !== undefined) return fetchedMeanwhile
            const token = yield* fetchToken(registry, challenge, wanted)
            yield* Ref.update(tokens, (map) => new Map(map).set(key, token))
            return token.header
          })
        )
      })

    const challenged = (registry: string, challenge: Challenge.Challenge): Effect.Effect<void> =>
      Ref.update(challenges, (map) => new Map(map).set(registry, challenge))

    return { authorize, challenged }
  })
