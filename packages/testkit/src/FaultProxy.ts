/**
 * A reverse proxy in front of a test registry that misbehaves on demand, the way real registries and networks
 * do: per request pattern it answers a status (429 with `Retry-After`, 503) a number of times, resets the
 * connection after some bytes of a body, stalls a body, flips a blob's bytes (same length), or redirects a
 * blob GET (307) to a second origin on another port. That origin serves blobs straight from the registry's
 * storage and records whether any request to it carried an Authorization header. Every request is recorded
 * (never its credentials).
 */
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect } from "effect"
import { listen } from "./TokenIssuer.js"

export type Action =
  /** Answer `status` (with `Retry-After: retryAfter` seconds when given) without asking the registry. */
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: number | undefined }
  /** Pass the response on, but destroy the connection once `afterBytes` bytes of its body went out. */
  | { readonly kind: "reset"; readonly afterBytes: number }
  /** Pass `afterBytes` bytes of the body on, then send nothing more until the client goes away. */
  | { readonly kind: "stall"; readonly afterBytes: number }
  /** Pass the response on with every body byte inverted: same length, wrong digest. */
  | { readonly kind: "corrupt" }
  /** Answer 307 with a `Location` on the other origin, which serves the blob the path names. */
  | { readonly kind: "redirect" }

export interface Fault {
  /** Any method when absent. */
  readonly method?: string | undefined
  /** Matched against the path with its query: a RegExp, or a string the path contains. */
  readonly path: RegExp | string
  /** How many matching requests get the fault (each fault counts down on its own). Every one when absent. */
  readonly times?: number | undefined
  readonly action: Action
}

export interface ProxiedRequest {
  readonly method: string
  /** Path and query. */
  readonly path: string
  readonly hadAuthorization: boolean
  /** The request's Range header (a resumed download), if any. */
  readonly range: string | undefined
  /** The fault this request got, if any. */
  readonly fault: Action["kind"] | undefined
  /** The status answered (0 until known). */
  status: number
  /** Body bytes sent to the client so far. */
  bytes: number
  /** Whether the whole response went out. */
  completed: boolean
}

export interface OriginRequest {
  readonly method: string
  readonly path: string
  readonly hadAuthorization: boolean
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`, as an image reference names it. */
  readonly host: string
  readonly url: string
  readonly fault: (fault: Fault) => void
  /** Removes every fault that has not run out. */
  readonly clear: () => void
  readonly requests: () => ReadonlyArray<ProxiedRequest>
  /** The second origin blob redirects point to. */
  readonly origin: { readonly url: string; readonly requests: () => ReadonlyArray<OriginRequest> }
}

/** The path pattern of every request for `digest`'s blob, in any repository. */
export const blobPath = (digest: string): RegExp =>
  new RegExp(`^/v2/.+/blobs/${digest.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\?|$)`)

const digestIn = (path: string): string | undefined => /\/blobs\/(sha256:[0-9a-f]{64})/.exec(path)?.[1]

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "upgrade"])

/** Starts a proxy in front of `registry` (its `url`, and its `storage` for the redirect origin). */
export const make = (registry: {
  readonly url: string
  readonly storage: string
}): Effect.Effect<FaultProxy, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const upstream = new URL(registry.url)
    const faults: Array<{ fault: Fault; left: number }> = []
    const recorded: Array<ProxiedRequest> = []
    const originRecorded: Array<OriginRequest> = []

    const origin = yield* listen((request, response) => {
      const path = request.url ?? "/"
      originRecorded.push({
        method: request.method ?? "",
        path,
        hadAuthorization: request.headers.authorization !== undefined
      })
      const digest = digestIn(path)
      const hex = digest?.slice("sha256:".length)
      const file =
        hex === undefined
          ? undefined
          : NodePath.join(registry.storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data")
      if (file === undefined || !NodeFs.existsSync(file)) {
        response.writeHead(404).end()
        return
      }
      const size = NodeFs.statSync(file).size
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) })
      if (request.method === "HEAD") response.end()
      else NodeFs.createReadStream(file).pipe(response)
    })
    const originUrl = `http://127.0.0.1:${origin.port}`

    const take = (method: string, path: string): Action | undefined => {
      const found = faults.find(
        ({ fault, left }) =>
          left > 0 &&
          (fault.method === undefined || fault.method === method) &&
          (typeof fault.path === "string" ? path.includes(fault.path) : fault.path.test(path))
      )
      if (found === undefined) return undefined
      found.left--
      return found.fault.action
    }

    const server = yield* listen((request, response) => {
      const method = request.method ?? "GET"
      const path = request.url ?? "/"
      const action = take(method, path)
      const entry: ProxiedRequest = {
        method,
        path,
        hadAuthorization: request.headers.authorization !== undefined,
        range: request.headers.range,
        fault: action?.kind,
        status: 0,
        bytes: 0,
        completed: false
      }
      recorded.push(entry)
      response.on("finish", () => {
        entry.completed = true
      })

      if (action?.kind === "status") {
        request.resume()
        entry.status = action.status
        const body = JSON.stringify({
          errors: [
            {
              code: action.status === 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE",
              message: `injected by the fault proxy: ${action.status}`
            }
          ]
        })
        response.writeHead(action.status, {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          ...(action.retryAfter === undefined ? {} : { "retry-after": String(action.retryAfter) })
        })
        response.end(body)
        return
      }
      if (action?.kind === "redirect") {
        request.resume()
        entry.status = 307
        response.writeHead(307, { location: `${originUrl}/blobs/${digestIn(path) ?? "none"}`, "content-length": "0" })
        response.end()
        return
      }

      const forward = NodeHttp.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method,
          path,
          // Host stays the proxy's: the registry writes upload `Location`s with it, so they come back here.
          headers: request.headers,
          agent: false
        },
        (answer) => {
          entry.status = answer.statusCode ?? 0
          const headers = Object.fromEntries(
            Object.entries(answer.headers).filter(([name]) => !hopByHop.has(name.toLowerCase()))
          )
          response.writeHead(answer.statusCode ?? 502, headers)
          answer.on("data", (chunk: Buffer) => {
            if (action?.kind === "reset" || action?.kind === "stall") {
              const room = action.afterBytes - entry.bytes
              if (room <= 0) return
              const part = chunk.subarray(0, room)
              entry.bytes += part.length
              response.write(part)
              if (entry.bytes >= action.afterBytes) {
                answer.destroy()
                // A reset: the client sees the connection end before the promised Content-Length.
                if (action.kind === "reset") response.socket?.destroy()
              }
              return
            }
            const out = action?.kind === "corrupt" ? Buffer.from(chunk.map((byte) => byte ^ 0xff)) : chunk
            entry.bytes += out.length
            response.write(out)
          })
          answer.on("end", () => {
            if (action?.kind !== "reset" && action?.kind !== "stall") response.end()
          })
          answer.on("error", () => response.socket?.destroy())
        }
      )
      forward.on("error", () => {
        entry.status = 502
        if (!response.headersSent) response.writeHead(502).end()
        else response.socket?.destroy()
      })
      request.pipe(forward)
    })

    return {
      host: `127.0.0.1:${server.port}`,
      url: `http://127.0.0.1:${server.port}`,
      fault: (fault) => {
        faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY })
      },
      clear: () => {
        faults.length = 0
      },
      requests: () => recorded,
      origin: { url: originUrl, requests: () => originRecorded }
    }
  })
