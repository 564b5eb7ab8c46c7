/**
 * An OCI distribution registry in memory, served through an `HttpClient`: what `testing.layerRegistry` gives.
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Digest from "../../Digest.js"
import * as Hasher from "../../Hasher.js"
import * as MediaType from "../../MediaType.js"
import type {
  MemoryRegistry,
  MemoryRegistryOptions,
  MemoryRegistryRequest,
  MemoryRegistryStats
} from "../../testing.js"

interface StoredManifest {
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly digest: string
}

interface Repo {
  readonly manifests: Map<string, StoredManifest>
  readonly tags: Map<string, string>
  readonly blobs: Set<string>
}

interface Upload {
  readonly repository: string
  readonly chunks: Array<Uint8Array>
  size: number
  state: string
  patched: boolean
}

interface Grant {
  readonly access: ReadonlySet<string>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const sha256 = (bytes: Uint8Array): Effect.Effect<string> => {
  const hash = Hasher.webCrypto.make("sha256")
  hash.update(bytes)
  return Effect.map(hash.digest, (hex) => `sha256:${hex}`)
}

const digestOf = (bytes: Uint8Array, algorithm: string): Effect.Effect<string | undefined> => {
  if (!Digest.isAlgorithm(algorithm)) return Effect.succeed(undefined)
  const hash = Hasher.webCrypto.make(algorithm)
  hash.update(bytes)
  return Effect.map(hash.digest, (hex) => `${algorithm}:${hex}`)
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

const errorBody = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message }] })

const repositoryPath = "((?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
const routes = {
  manifest: new RegExp(`^/v2/${repositoryPath}/manifests/([^/]+)$`),
  blob: new RegExp(`^/v2/${repositoryPath}/blobs/([a-z0-9+._-]+:[a-zA-Z0-9=_-]+)$`),
  uploads: new RegExp(`^/v2/${repositoryPath}/blobs/uploads/$`),
  session: new RegExp(`^/v2/${repositoryPath}/blobs/uploads/([a-z0-9-]+)$`),
  tags: new RegExp(`^/v2/${repositoryPath}/tags/list$`),
  referrers: new RegExp(`^/v2/${repositoryPath}/referrers/([a-z0-9+._-]+:[a-zA-Z0-9=_-]+)$`)
}

/** @internal */
export const make = (
  options?: MemoryRegistryOptions
): { readonly client: HttpClient.HttpClient; readonly registry: MemoryRegistry } => {
  const repos = new Map<string, Repo>()
  const blobs = new Map<string, Uint8Array>()
  const uploads = new Map<string, Upload>()
  const tokens = new Map<string, Grant>()
  const log: Array<MemoryRegistryRequest> = []
  const stats = { uploads: 0, mounts: 0, manifestPuts: 0, blobGets: 0, tokens: 0 }
  let intercept: ((request: MemoryRegistryRequest) => Response | undefined) | undefined
  let counter = 0
  const auth = options?.auth
  const pageSize = options?.tagsPageSize ?? 100
  const referrersApi = options?.referrersApi ?? true

  const repo = (name: string): Repo => {
    let found = repos.get(name)
    if (found === undefined) {
      found = { manifests: new Map(), tags: new Map(), blobs: new Set() }
      repos.set(name, found)
    }
    return found
  }

  const storeManifest = (name: string, reference: string | undefined, stored: StoredManifest): void => {
    const target = repo(name)
    target.manifests.set(stored.digest, stored)
    if (reference !== undefined && !Digest.is(reference)) target.tags.set(reference, stored.digest)
  }

  const findManifest = (name: string, reference: string): StoredManifest | undefined => {
    const target = repos.get(name)
    if (target === undefined) return undefined
    const digest = Digest.is(reference) ? reference : target.tags.get(reference)
    return digest === undefined ? undefined : target.manifests.get(digest)
  }

  const registry: MemoryRegistry = {
    putBlob: (repository, content) => {
      const bytes = typeof content === "string" ? encoder.encode(content) : content
      return Effect.map(sha256(bytes), (digest) => {
        blobs.set(digest, bytes.slice())
        repo(repository).blobs.add(digest)
        return Option.getOrThrow(Digest.parse(digest))
      })
    },
    putManifest: (repository, reference, manifest) => {
      const bytes = typeof manifest.bytes === "string" ? encoder.encode(manifest.bytes) : manifest.bytes
      return Effect.map(sha256(bytes), (digest) => {
        storeManifest(repository, reference, { mediaType: manifest.mediaType, bytes: bytes.slice(), digest })
        return Option.getOrThrow(Digest.parse(digest))
      })
    },
    blob: (repository, digest) => {
      const bytes = repos.get(repository)?.blobs.has(digest) ? blobs.get(digest) : undefined
      return bytes?.slice()
    },
    manifest: (repository, reference) => {
      const found = findManifest(repository, reference)
      return found === undefined ? undefined : { mediaType: found.mediaType, bytes: found.bytes.slice() }
    },
    tags: (repository) => Array.from(repos.get(repository)?.tags.keys() ?? []).sort(),
    stats: (): MemoryRegistryStats => ({ ...stats }),
    requests: () => log.slice(),
    intercept: (handler) => {
      intercept = handler
    }
  }

  /**
   * What a manifest names that the repository lacks, as distribution refuses it: a config or layer blob
   * (`MANIFEST_BLOB_UNKNOWN`), or an index's manifest (`MANIFEST_UNKNOWN`). Children go first.
   */
  const missingChildren = (
    name: string,
    bytes: Uint8Array
  ): { readonly code: string; readonly digest: string } | undefined => {
    let document: unknown
    try {
      document = JSON.parse(decoder.decode(bytes))
    } catch {
      return undefined
    }
    if (typeof document !== "object" || document === null) return undefined
    const digests = (list: unknown): Array<string> =>
      Array.isArray(list)
        ? list.flatMap((item: unknown) =>
            typeof item === "object" && item !== null && "digest" in item && typeof item.digest === "string"
              ? [item.digest]
              : []
          )
        : []
    const target = repos.get(name)
    const blobsNamed = [
      ...digests("config" in document ? [document.config] : []),
      ...digests("layers" in document ? document.layers : [])
    ]
    for (const digest of blobsNamed) {
      if (!target?.blobs.has(digest)) return { code: "MANIFEST_BLOB_UNKNOWN", digest }
    }
    for (const digest of digests("manifests" in document ? document.manifests : [])) {
      if (!target?.manifests.has(digest)) return { code: "MANIFEST_UNKNOWN", digest }
    }
    return undefined
  }

  const readBody = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<Uint8Array, unknown> => {
    const body = request.body
    switch (body._tag) {
      case "Empty":
        return Effect.succeed(new Uint8Array(0))
      case "Uint8Array":
        return Effect.succeed(body.body)
      case "Raw":
        return Effect.succeed(
          body.body instanceof Uint8Array
            ? body.body
            : typeof body.body === "string"
              ? encoder.encode(body.body)
              : new Uint8Array(0)
        )
      case "FormData":
        return Effect.succeed(new Uint8Array(0))
      case "Stream":
        return Effect.map(Stream.runCollect(body.stream), (chunks) => concat(Chunk.toReadonlyArray(chunks)))
    }
  }

  const handle = (
    request: HttpClientRequest.HttpClientRequest,
    url: URL
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
    Effect.gen(function* () {
      const headers = request.headers
      const seen: MemoryRegistryRequest = {
        method: request.method,
        url: url.toString(),
        headers: { ...headers }
      }
      log.push(seen)
      const body = yield* readBody(request).pipe(
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
      const reply = (status: number, content?: Uint8Array | string, replyHeaders?: Record<string, string>) => {
        const bytes = typeof content === "string" ? encoder.encode(content) : content
        const all: Record<string, string> = { ...replyHeaders }
        if (bytes !== undefined) all["content-length"] = String(bytes.length)
        const noBody = request.method === "HEAD" || status === 204 || status === 304 || bytes === undefined
        return HttpClientResponse.fromWeb(request, new Response(noBody ? null : bytes, { status, headers: all }))
      }
      if (intercept !== undefined) {
        const answer = intercept(seen)
        if (answer !== undefined) return HttpClientResponse.fromWeb(request, answer)
      }
      const fail = (status: number, code: string, message: string, extra?: Record<string, string>) =>
        reply(status, errorBody(code, message), { "content-type": "application/json", ...extra })

      const method = request.method
      if (auth !== undefined && (auth.scheme ?? "basic") === "bearer" && url.pathname === "/token") {
        const given = headers.authorization
        const basic = `Basic ${btoa(`${auth.username}:${auth.password}`)}`
        const form = method === "POST" ? new URLSearchParams(decoder.decode(body)) : undefined
        const refresh = form?.get("grant_type") === "refresh_token" ? form.get("refresh_token") : null
        const authenticated =
          form === undefined ? given === basic : auth.identityToken !== undefined && refresh === auth.identityToken
        if ((form === undefined && given !== undefined && given !== basic) || (form !== undefined && !authenticated)) {
          return reply(401, JSON.stringify({ details: "wrong credentials" }), { "content-type": "application/json" })
        }
        const access = new Set<string>()
        if (authenticated) {
          const scopes = form === undefined ? url.searchParams.getAll("scope") : [form.get("scope") ?? ""]
          for (const scope of scopes.flatMap((s) => s.split(" "))) {
            const [kind, name, actions] = scope.split(":")
            if (kind !== "repository" || name === undefined || actions === undefined) continue
            for (const action of actions.split(",")) access.add(`${name}:${action}`)
          }
        }
        counter++
        stats.tokens++
        const token = `memory-token-${counter}`
        tokens.set(token, { access })
        return reply(200, JSON.stringify({ token, expires_in: 300 }), { "content-type": "application/json" })
      }

      /** Whether the request may do `action` on `name` (`undefined`: any authenticated request). */
      const allowed = (name: string | undefined, action: "pull" | "push"): boolean => {
        if (auth === undefined) return true
        const given = headers.authorization
        if ((auth.scheme ?? "basic") === "basic") {
          return given === `Basic ${btoa(`${auth.username}:${auth.password}`)}`
        }
        const grant = given?.startsWith("Bearer ") ? tokens.get(given.slice(7)) : undefined
        if (grant === undefined) return false
        return name === undefined || grant.access.has(`${name}:${action}`)
      }
      const challenge = (name: string | undefined, action: "pull" | "push") => {
        if (auth === undefined) return {}
        if ((auth.scheme ?? "basic") === "basic") return { "www-authenticate": 'Basic realm="memory registry"' }
        const scope =
          name === undefined ? "" : `,scope="repository:${name}:${action === "push" ? "pull,push" : "pull"}"`
        return { "www-authenticate": `Bearer realm="${url.origin}/token",service="memory"${scope}` }
      }
      const guard = (name: string | undefined, action: "pull" | "push") =>
        allowed(name, action)
          ? undefined
          : fail(401, "UNAUTHORIZED", "authentication required", challenge(name, action))

      const path = url.pathname
      if (path === "/v2/" || path === "/v2") {
        return guard(undefined, "pull") ?? reply(200, "{}", { "content-type": "application/json" })
      }

      let match = routes.manifest.exec(path)
      if (match !== null) {
        const [, name = "", reference = ""] = match
        const denied = guard(name, method === "PUT" ? "push" : "pull")
        if (denied !== undefined) return denied
        if (method === "GET" || method === "HEAD") {
          const found = findManifest(name, reference)
          if (found === undefined) return fail(404, "MANIFEST_UNKNOWN", "manifest unknown")
          return reply(200, found.bytes, { "content-type": found.mediaType, "docker-content-digest": found.digest })
        }
        if (method === "PUT") {
          const digest = yield* sha256(body)
          if (Digest.is(reference) && (yield* digestOf(body, Digest.algorithm(reference))) !== reference) {
            return fail(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
          }
          const mediaType = headers["content-type"] ?? MediaType.ociManifest
          const missing = missingChildren(name, body)
          if (missing !== undefined) return fail(400, missing.code, `${missing.digest} is not in the repository`)
          storeManifest(name, reference, { mediaType, bytes: body.slice(), digest })
          stats.manifestPuts++
          return reply(201, undefined, {
            location: `/v2/${name}/manifests/${digest}`,
            "docker-content-digest": digest
          })
        }
        return fail(405, "UNSUPPORTED", "method not allowed")
      }

      match = routes.blob.exec(path)
      if (match !== null) {
        const [, name = "", digest = ""] = match
        const denied = guard(name, "pull")
        if (denied !== undefined) return denied
        const bytes = repos.get(name)?.blobs.has(digest) ? blobs.get(digest) : undefined
        if (bytes === undefined) return fail(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if (method === "HEAD") return reply(200, bytes, { "docker-content-digest": digest })
        if (method !== "GET") return fail(405, "UNSUPPORTED", "method not allowed")
        stats.blobGets++
        const range = /^bytes=(\d+)-$/.exec(headers.range ?? "")
        if (range !== null) {
          const from = Number(range[1])
          if (from >= bytes.length) return fail(416, "RANGE_INVALID", "invalid range")
          return reply(206, bytes.subarray(from), {
            "content-type": "application/octet-stream",
            "content-range": `bytes ${from}-${bytes.length - 1}/${bytes.length}`
          })
        }
        return reply(200, bytes, { "content-type": "application/octet-stream", "docker-content-digest": digest })
      }

      match = routes.uploads.exec(path)
      if (match !== null && method === "POST") {
        const [, name = ""] = match
        const denied = guard(name, "push")
        if (denied !== undefined) return denied
        const mount = url.searchParams.get("mount")
        const from = url.searchParams.get("from")
        if (mount !== null && from !== null && repos.get(from)?.blobs.has(mount) && allowed(from, "pull")) {
          repo(name).blobs.add(mount)
          stats.mounts++
          return reply(201, undefined, { location: `/v2/${name}/blobs/${mount}`, "docker-content-digest": mount })
        }
        counter++
        const id = `upload-${counter}`
        const upload: Upload = { repository: name, chunks: [], size: 0, state: `s${counter}`, patched: false }
        uploads.set(id, upload)
        const extra: Record<string, string> =
          options?.chunkMinLength === undefined ? {} : { "oci-chunk-min-length": String(options.chunkMinLength) }
        return reply(202, undefined, {
          location: `/v2/${name}/blobs/uploads/${id}?_state=${upload.state}`,
          range: "0-0",
          "docker-upload-uuid": id,
          ...extra
        })
      }

      match = routes.session.exec(path)
      if (match !== null) {
        const [, name = "", id = ""] = match
        const denied = guard(name, "push")
        if (denied !== undefined) return denied
        const upload = uploads.get(id)
        if (upload === undefined || upload.repository !== name) {
          return fail(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        }
        // Each answer names a new state: a client must continue at the latest Location.
        if (url.searchParams.get("_state") !== upload.state) {
          return fail(400, "BLOB_UPLOAD_INVALID", "stale upload state: continue at the latest Location")
        }
        const next = () => {
          counter++
          upload.state = `s${counter}`
          return `/v2/${name}/blobs/uploads/${id}?_state=${upload.state}`
        }
        if (method === "PATCH") {
          const range = /^(\d+)-(\d+)$/.exec(headers["content-range"] ?? "")
          if (range !== null && Number(range[1]) !== upload.size) {
            return fail(416, "RANGE_INVALID", "chunk does not continue the upload")
          }
          upload.chunks.push(body.slice())
          upload.size += body.length
          upload.patched = true
          return reply(202, undefined, { location: next(), range: `0-${Math.max(0, upload.size - 1)}` })
        }
        if (method === "PUT") {
          if (options?.chunkMinLength !== undefined && !upload.patched && body.length > 0) {
            return fail(416, "RANGE_INVALID", "this registry takes uploads in chunks")
          }
          const digest = url.searchParams.get("digest")
          if (digest === null || !Digest.is(digest)) return fail(400, "DIGEST_INVALID", "digest missing")
          upload.chunks.push(body.slice())
          const content = concat(upload.chunks)
          uploads.delete(id)
          if ((yield* digestOf(content, Digest.algorithm(digest))) !== digest) {
            return fail(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
          }
          blobs.set(digest, content)
          repo(name).blobs.add(digest)
          stats.uploads++
          return reply(201, undefined, { location: `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest })
        }
        return fail(405, "UNSUPPORTED", "method not allowed")
      }

      match = routes.tags.exec(path)
      if (match !== null && method === "GET") {
        const [, name = ""] = match
        const denied = guard(name, "pull")
        if (denied !== undefined) return denied
        const target = repos.get(name)
        if (target === undefined) return fail(404, "NAME_UNKNOWN", "repository name not known to registry")
        const all = Array.from(target.tags.keys()).sort()
        const last = url.searchParams.get("last")
        const n = Number(url.searchParams.get("n") ?? pageSize)
        const rest = last === null ? all : all.filter((tag) => tag > last)
        const page = rest.slice(0, n)
        const extra: Record<string, string> =
          rest.length > page.length && page.length > 0
            ? {
                link: `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1] ?? "")}>; rel="next"`
              }
            : {}
        return reply(200, JSON.stringify({ name, tags: page }), { "content-type": "application/json", ...extra })
      }

      match = routes.referrers.exec(path)
      if (match !== null && method === "GET" && referrersApi) {
        const [, name = "", digest = ""] = match
        const denied = guard(name, "pull")
        if (denied !== undefined) return denied
        const artifactType = url.searchParams.get("artifactType")
        const manifests: Array<unknown> = []
        for (const stored of repos.get(name)?.manifests.values() ?? []) {
          let document: unknown
          try {
            document = JSON.parse(decoder.decode(stored.bytes))
          } catch {
            continue
          }
          if (typeof document !== "object" || document === null) continue
          const subject = "subject" in document ? document.subject : undefined
          if (typeof subject !== "object" || subject === null || !("digest" in subject) || subject.digest !== digest) {
            continue
          }
          const config = "config" in document ? document.config : undefined
          const type =
            "artifactType" in document && typeof document.artifactType === "string"
              ? document.artifactType
              : typeof config === "object" && config !== null && "mediaType" in config
                ? config.mediaType
                : undefined
          if (artifactType !== null && type !== artifactType) continue
          const annotations = "annotations" in document ? document.annotations : undefined
          manifests.push({
            mediaType: stored.mediaType,
            digest: stored.digest,
            size: stored.bytes.length,
            ...(typeof type === "string" ? { artifactType: type } : {}),
            ...(typeof annotations === "object" && annotations !== null ? { annotations } : {})
          })
        }
        return reply(200, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }), {
          "content-type": MediaType.ociIndex,
          ...(artifactType === null ? {} : { "oci-filters-applied": "artifactType" })
        })
      }

      return fail(404, "NOT_FOUND", "no such route")
    })

  return { client: HttpClient.make((request, url) => handle(request, url)), registry }
}
