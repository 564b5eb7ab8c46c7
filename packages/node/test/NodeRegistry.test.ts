import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Credentials from "@ocidx/core/Credentials"
import * as Digest from "@ocidx/core/Digest"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import { Effect, Fiber, Layer, Option, Stream } from "effect"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { clientOf } from "./support/registryClient.js"
import { runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { opensslPath } from "@ocidx/testkit/Tools"

const blockBytes = 64 * 1024
const blobBytes = 64 * 1024 * 1024
const cutAfter = 20 * 1024 * 1024

/** The blob's bytes from `from` on, generated block by block: 64 MiB that are never all in memory. */
function* blobFrom(from: number, until = blobBytes): Generator<Buffer> {
  for (let offset = from - (from % blockBytes); offset < until; offset += blockBytes) {
    const block = Buffer.alloc(blockBytes, (offset / blockBytes) * 7 + 3)
    block.writeUInt32BE(offset / blockBytes, 0)
    const start = Math.max(from - offset, 0)
    const end = Math.min(blockBytes, until - offset)
    yield block.subarray(start, end)
  }
}

const blobDigest = (() => {
  const hash = createHash("sha256")
  for (const block of blobFrom(0)) hash.update(block)
  return Option.getOrThrow(Digest.parse(`sha256:${hash.digest("hex")}`))
})()

const password = "n0de-Secret"
const authorization = `Basic ${Buffer.from(`ci:${password}`).toString("base64")}`

interface Seen {
  readonly url: string
  readonly range: string | undefined
  readonly authorization: boolean
}

/** A node:http server on a free loopback port, closed with the scope. */
const serve = (handler: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer(handler)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(
    Effect.map((server) => {
      const address = server.address()
      return { server, port: typeof address === "object" && address !== null ? address.port : 0 }
    })
  )

/** Writes the blob from `from`, respecting backpressure; destroys the connection past `cut` bytes if given. */
const sendBlob = (response: Http.ServerResponse, from: number, cut?: number) => {
  const blocks = blobFrom(from)
  let sent = 0
  const write = () => {
    for (;;) {
      const next = blocks.next()
      if (next.done) return response.end()
      sent += next.value.length
      if (cut !== undefined && sent > cut) {
        response.socket?.destroy()
        return
      }
      if (!response.write(next.value)) return response.once("drain", write)
    }
  }
  write()
}

/** The blob, generated lazily one 64 KiB block per pull, counting in `pulled.bytes` what was taken. */
const countedBlob = (pulled: { bytes: number }) => () =>
  Stream.fromIteratorSucceed(
    (function* () {
      for (const block of blobFrom(0)) {
        pulled.bytes += block.length
        yield block
      }
    })(),
    1
  )

/** Waits until `pulled.bytes` has not moved for half a second: the upload stopped taking the content. */
const untilStalled = (pulled: { bytes: number }) =>
  Effect.gen(function* () {
    let seen = -1
    while (pulled.bytes === 0 || pulled.bytes !== seen) {
      seen = pulled.bytes
      yield* Effect.sleep("500 millis")
    }
  })

/** Pushes the counted blob to the registry on `port` through a plain client built in the test's scope. */
const pushBlob = (port: number, pulled: { bytes: number }) =>
  Effect.flatMap(
    Effect.orDie(clientOf(NodeRegistry.layerWithoutCredentials().pipe(Layer.provide(Credentials.layerStatic())))),
    (client) =>
      client.uploadBlob(
        { registry: `127.0.0.1:${port}`, repository: "team/app" },
        { digest: blobDigest, size: blobBytes },
        countedBlob(pulled)
      )
  )

/** A registry that takes uploads into one session, and hands each PUT of it to `onPut`. */
const uploadRegistry = (onPut: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
  serve((request, response) => {
    if (request.method === "HEAD") {
      response.writeHead(404)
      return response.end()
    }
    if (request.method === "POST" && request.url === "/v2/team/app/blobs/uploads/") {
      response.writeHead(202, { location: "/v2/team/app/blobs/uploads/session", "content-length": "0" })
      return response.end()
    }
    if (
      request.method === "PUT" &&
      request.url === `/v2/team/app/blobs/uploads/session?digest=${encodeURIComponent(blobDigest)}`
    ) {
      return onPut(request, response)
    }
    response.writeHead(404)
    response.end()
  })

describe("NodeRegistry", () => {
  it.scopedLive(
    "streams a 64 MiB blob through a connection reset and a cross-origin 307, verified, without sending the Authorization header to the other origin",
    () =>
      Effect.gen(function* () {
        const storageSeen: Array<Seen> = []
        const registrySeen: Array<Seen> = []
        const storage = yield* serve((request, response) => {
          storageSeen.push({
            url: request.url ?? "",
            range: request.headers.range,
            authorization: request.headers.authorization !== undefined
          })
          const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
          const from = range === null ? 0 : Number(range[1])
          response.writeHead(range === null ? 200 : 206, {
            "content-length": String(blobBytes - from),
            ...(range === null ? {} : { "content-range": `bytes ${from}-${blobBytes - 1}/${blobBytes}` })
          })
          sendBlob(response, from)
        })
        const registry = yield* serve((request, response) => {
          registrySeen.push({
            url: request.url ?? "",
            range: request.headers.range,
            authorization: request.headers.authorization !== undefined
          })
          if (request.headers.authorization !== authorization) {
            response.writeHead(401, { "www-authenticate": 'Basic realm="test"', "content-type": "application/json" })
            return response.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "log in" }] }))
          }
          if (request.url === `/v2/team/app/blobs/${blobDigest}` && request.headers.range === undefined) {
            response.writeHead(200, { "content-length": String(blobBytes) })
            return sendBlob(response, 0, cutAfter)
          }
          if (request.url === `/v2/team/app/blobs/${blobDigest}`) {
            response.writeHead(307, { location: `http://127.0.0.1:${storage.port}/blobs/data?sig=x` })
            return response.end()
          }
          response.writeHead(404)
          response.end()
        })
        const name = `127.0.0.1:${registry.port}`
        const client = yield* clientOf(
          NodeRegistry.layerWithoutCredentials({ retry: { attempts: 3, baseDelay: "10 millis" } }).pipe(
            Layer.provide(Credentials.layerStatic({ [name]: { _tag: "Password", username: "ci", password } }))
          )
        )
        const hash = createHash("sha256")
        let received = 0
        let largestChunk = 0
        yield* client.getBlob({ registry: name, repository: "team/app" }, { digest: blobDigest, size: blobBytes }).pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              hash.update(chunk)
              received += chunk.length
              largestChunk = Math.max(largestChunk, chunk.length)
            })
          )
        )
        expect(received).toBe(blobBytes)
        expect(`sha256:${hash.digest("hex")}`).toBe(blobDigest)
        // Streamed, not buffered: no chunk near the blob's size.
        expect(largestChunk).toBeLessThan(4 * 1024 * 1024)
        expect(registrySeen.map((seen) => [seen.authorization, seen.range])).toEqual([
          [false, undefined],
          [true, undefined],
          [true, expect.stringMatching(/^bytes=\d+-$/)]
        ])
        expect(storageSeen).toHaveLength(1)
        expect(storageSeen[0]?.authorization).toBe(false)
        expect(storageSeen[0]?.range).toBe(registrySeen[2]?.range)
      })
  )

  it.scopedLive(
    "pushes a 64 MiB blob to a registry that reads slowly, pulling the content only as fast as the registry takes it",
    () =>
      Effect.gen(function* () {
        let release: () => void = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        const received = { bytes: 0, digest: "" }
        const { port } = yield* uploadRegistry((request, response) => {
          // Reads nothing until released: node stops reading the socket, and the connection fills up.
          void released.then(() => {
            const hash = createHash("sha256")
            request.on("data", (chunk: Buffer) => {
              hash.update(chunk)
              received.bytes += chunk.length
            })
            request.on("end", () => {
              received.digest = `sha256:${hash.digest("hex")}`
              response.writeHead(201, { "docker-content-digest": received.digest, "content-length": "0" })
              response.end()
            })
          })
        })
        const pulled = { bytes: 0 }
        const upload = yield* Effect.fork(pushBlob(port, pulled))
        yield* untilStalled(pulled)
        // What the sockets' buffers hold, not the blob: the platform client's sink took all 64 MiB here.
        expect(pulled.bytes).toBeLessThan(16 * 1024 * 1024)
        release()
        expect(yield* Fiber.join(upload)).toBe("uploaded")
        expect(received).toEqual({ bytes: blobBytes, digest: blobDigest })
      })
  )

  it.scopedLive(
    "a content that refills one buffer for each chunk arrives whole at a registry that reads slowly: each buffer is sent before the next pull",
    () =>
      Effect.gen(function* () {
        let release: () => void = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        const received = { bytes: 0, digest: "" }
        const { port } = yield* uploadRegistry((request, response) => {
          void released.then(() => {
            const hash = createHash("sha256")
            request.on("data", (chunk: Buffer) => {
              hash.update(chunk)
              received.bytes += chunk.length
            })
            request.on("end", () => {
              received.digest = `sha256:${hash.digest("hex")}`
              response.writeHead(201, { "docker-content-digest": received.digest, "content-length": "0" })
              response.end()
            })
          })
        })
        const asked: Array<boolean | undefined> = []
        const shared = Buffer.alloc(blockBytes)
        const refilled = (options?: { readonly reuseBuffers?: boolean | undefined }) => {
          asked.push(options?.reuseBuffers)
          return Stream.fromIteratorSucceed(
            (function* () {
              // Whole blocks, and every other one in 4 KiB pieces (below a socket's high-water mark).
              let index = 0
              for (const block of blobFrom(0)) {
                const piece = index++ % 2 === 0 ? block.length : 4096
                for (let at = 0; at < block.length; at += piece) {
                  const end = Math.min(at + piece, block.length)
                  block.copy(shared, 0, at, end)
                  yield shared.subarray(0, end - at)
                }
              }
            })(),
            1
          )
        }
        const client = yield* Effect.orDie(
          clientOf(NodeRegistry.layerWithoutCredentials().pipe(Layer.provide(Credentials.layerStatic())))
        )
        const upload = yield* Effect.fork(
          client.uploadBlob(
            { registry: `127.0.0.1:${port}`, repository: "team/app" },
            { digest: blobDigest, size: blobBytes },
            refilled
          )
        )
        // The socket fills while nothing is read: a buffer refilled before it was sent would arrive changed.
        yield* Effect.sleep("300 millis")
        release()
        expect(yield* Fiber.join(upload)).toBe("uploaded")
        expect(asked).toEqual([true])
        expect(received).toEqual({ bytes: blobBytes, digest: blobDigest })
      })
  )

  it.scopedLive(
    "a registry that refuses a push before reading its body: the upload fails with the registry's answer, the rest unsent",
    () =>
      Effect.gen(function* () {
        const answer = JSON.stringify({ errors: [{ code: "BLOB_UPLOAD_INVALID", message: "no room" }] })
        const { port } = yield* uploadRegistry((request) => {
          // Answers on the socket itself and never reads the body (a node ServerResponse would read it away).
          request.socket.write(
            `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`
          )
        })
        const pulled = { bytes: 0 }
        const failure = yield* Effect.flip(pushBlob(port, pulled))
        expect([failure._tag, failure.status, failure.detail]).toEqual([
          "RegistryError",
          400,
          expect.stringContaining("no room")
        ])
        expect(pulled.bytes).toBeLessThan(16 * 1024 * 1024)
      })
  )

  it.scopedLive("speaks plain http to a loopback registry, and reports a stopped one as unavailable", () =>
    Effect.gen(function* () {
      const { port } = yield* serve((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
      const client = yield* clientOf(
        NodeRegistry.layerWithoutCredentials({ retry: { attempts: 2, baseDelay: "10 millis" } }).pipe(
          Layer.provide(Credentials.layerStatic())
        )
      )
      yield* client.ping(`127.0.0.1:${port}`)
      const closed = yield* serve(() => {})
      yield* Effect.async<void>((resume) => {
        closed.server.close(() => resume(Effect.void))
      })
      const failure = yield* Effect.flip(client.ping(`localhost:${closed.port}`))
      expect([failure._tag, failure.reason, failure.detail]).toEqual([
        "RegistryError",
        "unavailable",
        "the connection failed (ECONNREFUSED)"
      ])
      expect(failure.request).toBe(`GET http://localhost:${closed.port}/v2/`)
    })
  )

  it.effect("fails with a ReadError when the CA file cannot be read", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(
        Effect.provide(RegistryClient.RegistryClient, NodeRegistry.layer({ caFile: "/nonexistent/ca.pem" }))
      )
      expect([failure._tag, failure.path]).toEqual(["ReadError", "/nonexistent/ca.pem"])
    })
  )

  it.scopedLive.skipIf(opensslPath === undefined)(
    "a TLS registry on loopback: https with --ca-file, refused without it (no fallback to http), accepted with --insecure",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const key = NodePath.join(dir, "key.pem")
        const cert = NodePath.join(dir, "cert.pem")
        yield* runOk(opensslPath ?? "openssl", [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          key,
          "-out",
          cert,
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1"
        ])
        const schemes: Array<string> = []
        const uploaded: Array<string> = []
        const server = yield* Effect.acquireRelease(
          Effect.async<Https.Server>((resume) => {
            const created = Https.createServer(
              { key: Fs.readFileSync(key), cert: Fs.readFileSync(cert) },
              (request, response) => {
                if (request.url === "/v2/") schemes.push("https")
                if (request.method === "POST") {
                  response.writeHead(202, { location: "/v2/team/app/blobs/uploads/session", "content-length": "0" })
                  return response.end()
                }
                if (request.method === "PUT") {
                  const hash = createHash("sha256")
                  request.on("data", (chunk: Buffer) => hash.update(chunk))
                  request.on("end", () => {
                    uploaded.push(`sha256:${hash.digest("hex")}`)
                    response.writeHead(201, { "content-length": "0" })
                    response.end()
                  })
                  return
                }
                response.writeHead(request.method === "HEAD" ? 404 : 200, { "content-type": "application/json" })
                response.end("{}")
              }
            )
            created.listen(0, "127.0.0.1", () => resume(Effect.succeed(created)))
          }),
          (created) =>
            Effect.async<void>((resume) => {
              created.closeAllConnections()
              created.close(() => resume(Effect.void))
            })
        )
        const address = server.address()
        const name = `localhost:${typeof address === "object" && address !== null ? address.port : 0}`
        const clientWith = (options: NodeRegistry.Options) =>
          clientOf(
            NodeRegistry.layerWithoutCredentials({ retry: { attempts: 2, baseDelay: "10 millis" }, ...options }).pipe(
              Layer.provide(Credentials.layerStatic())
            )
          )
        yield* (yield* clientWith({ caFile: cert })).ping(name)
        expect(schemes).toEqual(["https"])
        const refused = yield* Effect.flip((yield* clientWith({})).ping(name))
        expect(refused.reason).toBe("unavailable")
        expect(refused.tls).toBe(true)
        expect(refused.detail).toContain("TLS handshake failed")
        expect(refused.request).toBe(`GET https://${name}/v2/`)
        const lax = yield* clientWith({ insecure: true })
        yield* lax.ping(name)
        expect(schemes).toEqual(["https", "https"])
        // A streamed upload goes through the same agent: over TLS, certificate unverified.
        const small = Buffer.alloc(3 * 1024 * 1024, 7)
        const smallDigest = `sha256:${createHash("sha256").update(small).digest("hex")}`
        const outcome = yield* lax.uploadBlob(
          { registry: name, repository: "team/app" },
          { digest: Option.getOrThrow(Digest.parse(smallDigest)), size: small.length },
          () => Stream.make(small.subarray(0, 1024 * 1024), small.subarray(1024 * 1024))
        )
        expect([outcome, uploaded]).toEqual(["uploaded", [smallDigest]])
      })
  )
})
