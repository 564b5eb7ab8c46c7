/**
 * `ocidx` pulling through a fault proxy in front of a real registry (htpasswd Basic auth, so every request
 * carries credentials): 429 with `Retry-After`, 503s and a connection reset mid-blob are retried to success
 * (pulling, and a push's upload and manifest PUT); a blob with the wrong bytes gives 65 and tags nothing; a
 * blob redirected (307) to another origin is fetched without the Authorization header there (with Basic and
 * with token auth); a pull killed with SIGKILL mid-blob leaves no tag and a layout that verifies, and the
 * rerun skips the blobs that arrived. Skipped, with a message, where docker-registry, htpasswd, openssl,
 * skopeo or umoci is missing.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as FaultProxy from "@ocidx/testkit/FaultProxy"
import { type Child, runOk } from "@ocidx/testkit/Processes"
import * as Registry from "@ocidx/testkit/Registry"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath, umociPath } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import {
  blobFile,
  credentialEnv,
  entryOf,
  expectExit,
  readJsonBlob,
  secretsOf,
  singleImage,
  spawnOcidx
} from "./support/registry.js"

const skip = Registry.unavailable ?? missing(["skopeo", skopeoPath], ["umoci", umociPath])
announceSkip("the real-registry fault tests", skip)

const skopeoBin = skopeoPath ?? "skopeo"

/**
 * Polls `check` every 100 ms until it holds; fails, saying what it waited for, once `child` has exited or
 * after 110 s.
 */
const waitUntil = (what: string, child: Child, check: () => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 110_000
    while (!check()) {
      if (yield* child.hasExited) {
        const { code, stdout, stderr } = yield* child.result
        return yield* Effect.fail(
          new Error(`ocidx exited ${code} before ${what}\nstdout: ${stdout}\nstderr: ${stderr}`)
        )
      }
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`gave up waiting until ${what}`))
      yield* Effect.sleep("100 millis")
    }
  })

describe.skipIf(skip !== undefined).concurrent("ocidx through a fault proxy", () => {
  const registries: Partial<Record<"htpasswd" | "token", Registry.Registry>> = {}
  const releases: Array<() => Promise<void>> = []
  beforeAll(async () => {
    for (const auth of ["htpasswd", "token"] as const) {
      const acquired = await Registry.acquire(Registry.make({ auth }))
      registries[auth] = acquired.value
      releases.push(acquired.release)
    }
  })
  afterAll(async () => {
    for (const release of releases) await release()
  })
  const registryFor = (auth: "htpasswd" | "token"): Registry.Registry => {
    const registry = registries[auth]
    if (registry === undefined) throw new Error(`no ${auth} registry`)
    return registry
  }

  /**
   * `files` made into an image, pushed by skopeo straight to the registry as `repo:v1`, and a proxy in
   * front of the registry with ocidx's credentials for it.
   */
  const setup = (auth: "htpasswd" | "token", repo: string, files: Readonly<Record<string, string | Uint8Array>>) =>
    Effect.gen(function* () {
      const registry = registryFor(auth)
      const dir = yield* tempDir
      const image = yield* singleImage(dir, files)
      yield* runOk(skopeoBin, [
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${registry.username}:${registry.password}`,
        `oci:${image.layout}:v1`,
        `docker://${registry.host}/${repo}:v1`
      ])
      const proxy = yield* FaultProxy.make(registry)
      const env = credentialEnv(dir, registry.dockerConfig(registry.username, registry.password, proxy.host))
      const manifest = readJsonBlob(image.layout, image.manifest.digest)
      const layers = (manifest.layers ?? []).map((layer) => layer.digest)
      const config = manifest.config?.digest ?? ""
      const out = NodePath.join(dir, "out")
      const ref = `${proxy.host}/${repo}:v1`
      return { registry, dir, image, proxy, env, layers, config, out, ref }
    })

  it.scopedLive("429 with Retry-After and 503s on manifests and blobs are retried to success", () =>
    Effect.gen(function* () {
      const { proxy, env, image, layers, config, out, ref } = yield* setup("htpasswd", "faults/status", {
        "a.txt": "status faults\n"
      })
      const [layer] = layers
      if (layer === undefined) return yield* Effect.dieMessage("no layer")
      proxy.fault({
        method: "GET",
        path: /\/manifests\//,
        times: 1,
        action: { kind: "status", status: 429, retryAfter: 1 }
      })
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(layer),
        times: 2,
        action: { kind: "status", status: 503 }
      })
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(config),
        times: 1,
        action: { kind: "status", status: 429, retryAfter: 1 }
      })
      yield* expectExit(0, env, ["pull", ref, `${out}:v1`])
      expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
      yield* expectExit(0, {}, ["verify", out])
      const injected = proxy.requests().filter((request) => request.fault === "status")
      expect(injected.map((request) => request.status).sort()).toEqual([429, 429, 503, 503])
      // Each faulted path was asked again and then answered whole.
      for (const digest of [layer, config]) {
        const gets = proxy
          .requests()
          .filter((request) => request.method === "GET" && FaultProxy.blobPath(digest).test(request.path))
        expect(gets.at(-1)?.status).toBe(200)
        expect(gets.at(-1)?.completed).toBe(true)
      }
    })
  )

  it.scopedLive("a push retries a 503 on an upload and a 429 with Retry-After on the manifest PUT", () =>
    Effect.gen(function* () {
      const { registry, proxy, env, image } = yield* setup("htpasswd", "faults/push-source", {
        "p.txt": "pushed through faults\n"
      })
      proxy.fault({ method: "POST", path: /\/blobs\/uploads\//, times: 1, action: { kind: "status", status: 503 } })
      proxy.fault({
        method: "PUT",
        path: /\/manifests\/v1$/,
        times: 1,
        action: { kind: "status", status: 429, retryAfter: 1 }
      })
      yield* expectExit(0, env, ["push", `${image.layout}:v1`, `${proxy.host}/faults/pushed:v1`])
      const injected = proxy.requests().filter((request) => request.fault === "status")
      expect(injected.map((request) => `${request.method} ${request.status}`).sort()).toEqual(["POST 503", "PUT 429"])
      const manifestPuts = proxy
        .requests()
        .filter((request) => request.method === "PUT" && request.path.endsWith("/manifests/v1"))
      expect(manifestPuts.at(-1)?.status).toBe(201)
      const arrived = JSON.parse(
        yield* runOk(skopeoBin, [
          "inspect",
          "--tls-verify=false",
          "--creds",
          `${registry.username}:${registry.password}`,
          `docker://${registry.host}/faults/pushed:v1`
        ])
      )
      expect(arrived.Digest).toBe(image.manifest.digest)
    })
  )

  it.scopedLive("a connection reset mid-blob is retried to success", () =>
    Effect.gen(function* () {
      const { proxy, env, image, layers, out, ref } = yield* setup("htpasswd", "faults/reset", {
        "big.bin": NodeCrypto.randomBytes(256 * 1024)
      })
      const [layer] = layers
      if (layer === undefined) return yield* Effect.dieMessage("no layer")
      proxy.fault({
        method: "GET",
        path: FaultProxy.blobPath(layer),
        times: 1,
        action: { kind: "reset", afterBytes: 64 * 1024 }
      })
      yield* expectExit(0, env, ["pull", ref, `${out}:v1`])
      expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
      yield* expectExit(0, {}, ["verify", out])
      const gets = proxy
        .requests()
        .filter((request) => request.method === "GET" && FaultProxy.blobPath(layer).test(request.path))
      expect(gets[0]).toMatchObject({ fault: "reset", bytes: 64 * 1024 })
      // The retry either starts over (200) or resumes where the reset cut it (206 for the rest): either way
      // the rest of the blob went out whole.
      const last = gets.at(-1)
      expect(last?.completed).toBe(true)
      const size = readJsonBlob(image.layout, image.manifest.digest).layers?.[0]?.size ?? 0
      if (last?.status === 206) {
        const from = Number(/^bytes=(\d+)-/.exec(last.range ?? "")?.[1])
        expect(from).toBeLessThanOrEqual(64 * 1024)
        expect(last.bytes).toBe(size - from)
      } else expect(last).toMatchObject({ status: 200, bytes: size })
    })
  )

  it.scopedLive("a blob with the wrong bytes gives 65, keeps nothing of it, and tags nothing", () =>
    Effect.gen(function* () {
      const { registry, proxy, env, layers, out, ref } = yield* setup("htpasswd", "faults/corrupt", {
        "c.txt": "corrupted on the way\n"
      })
      const [layer] = layers
      if (layer === undefined) return yield* Effect.dieMessage("no layer")
      proxy.fault({ method: "GET", path: FaultProxy.blobPath(layer), action: { kind: "corrupt" } })
      yield* expectExit(0, {}, ["init", out])
      const result = yield* expectExit(65, env, ["pull", ref, `${out}:v1`])
      const lines = result.stderr.split("\n").filter((line) => line !== "")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^ocidx: /)
      expect(lines[0]).toContain(layer)
      for (const secret of secretsOf(registry.username, registry.password)) {
        expect(result.stdout + result.stderr).not.toContain(secret)
      }
      expect(entryOf(out, "v1")).toBeUndefined()
      expect(NodeFs.existsSync(blobFile(out, layer))).toBe(false)
      yield* expectExit(0, {}, ["verify", out])
    })
  )

  it.scopedLive.each(["htpasswd", "token"] as const)(
    "a blob redirected (307) to another origin is fetched there without the Authorization header (auth %s)",
    (auth) =>
      Effect.gen(function* () {
        const { proxy, env, image, layers, config, out, ref } = yield* setup(auth, `faults/redirect-${auth}`, {
          "d.txt": "redirected\n"
        })
        for (const digest of [...layers, config]) {
          proxy.fault({ method: "GET", path: FaultProxy.blobPath(digest), times: 1, action: { kind: "redirect" } })
        }
        yield* expectExit(0, env, ["pull", ref, `${out}:v1`])
        expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
        yield* expectExit(0, {}, ["verify", out])
        const redirected = proxy.requests().filter((request) => request.fault === "redirect")
        expect(redirected).toHaveLength(layers.length + 1)
        // The registry's origin got the credentials: the redirect really dropped them.
        expect(redirected.every((request) => request.hadAuthorization)).toBe(true)
        const served = proxy.origin.requests()
        expect(served.map((request) => request.path).sort()).toEqual(
          [...layers, config].map((digest) => `/blobs/${digest}`).sort()
        )
        expect(served.filter((request) => request.hadAuthorization)).toEqual([])
      })
  )

  it.scopedLive(
    "a pull killed with SIGKILL mid-blob leaves no tag and a layout that verifies; the rerun skips what arrived",
    () =>
      Effect.gen(function* () {
        const { proxy, env, image, layers, config, out } = yield* setup("htpasswd", "faults/killed", {
          "small.txt": "arrives before the kill\n",
          "big.bin": NodeCrypto.randomBytes(4 * 1024 * 1024)
        })
        const [small, big] = layers
        if (small === undefined || big === undefined) return yield* Effect.dieMessage("two layers expected")
        const stallAt = 1024 * 1024
        proxy.fault({
          method: "GET",
          path: FaultProxy.blobPath(big),
          times: 1,
          action: { kind: "stall", afterBytes: stallAt }
        })
        yield* expectExit(0, {}, ["init", out])
        const source = `docker://${proxy.host}/faults/killed:v1`
        const child = yield* spawnOcidx(env, ["copy", source, `oci:${out}:v1`, "--json"])
        yield* waitUntil(
          "the small blobs arrived and the big one stalled mid-way",
          child,
          () =>
            NodeFs.existsSync(blobFile(out, small)) &&
            NodeFs.existsSync(blobFile(out, config)) &&
            proxy.requests().some((request) => request.fault === "stall" && request.bytes >= stallAt)
        )
        const killed = yield* child.kill("SIGKILL")
        expect(killed.signal).toBe("SIGKILL")
        expect(entryOf(out, "v1")).toBeUndefined()
        expect(NodeFs.existsSync(blobFile(out, big))).toBe(false)
        yield* expectExit(0, {}, ["verify", out])

        const rerun = yield* expectExit(0, env, ["copy", source, `oci:${out}:v1`, "--json"])
        const result = JSON.parse(rerun.stdout)
        const digests = (list: ReadonlyArray<{ digest: string }>) => list.map((descriptor) => descriptor.digest)
        expect(digests(result.skipped)).toEqual(expect.arrayContaining([small, config]))
        expect(digests(result.copied)).toContain(big)
        expect(digests(result.copied)).not.toContain(small)
        expect(result.manifest.digest).toBe(image.manifest.digest)
        expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
        yield* expectExit(0, {}, ["verify", out])
      })
  )
})
