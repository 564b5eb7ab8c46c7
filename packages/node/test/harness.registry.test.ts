/**
 * The real-registry harness of the end-to-end tests (`@ocidx/testkit/Registry`) checked against skopeo: in
 * each auth configuration (none, htpasswd, token with an ES256 `x5c` JWT issuer), skopeo pushes a umoci-made
 * image with the harness's credentials and inspects it back, and wrong credentials are refused. Skipped, with
 * a message, where docker-registry, htpasswd, openssl, skopeo or umoci is missing.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as FaultProxy from "@ocidx/testkit/FaultProxy"
import { run, runOk } from "@ocidx/testkit/Processes"
import * as Registry from "@ocidx/testkit/Registry"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath, umoci, umociPath } from "@ocidx/testkit/Tools"
import { Effect } from "effect"

const skip = Registry.unavailable ?? missing(["skopeo", skopeoPath], ["umoci", umociPath])
announceSkip("the real-registry harness tests", skip)

const skopeoBin = skopeoPath ?? "skopeo"

/** A umoci layout in `dir` holding `image:v1` with one small layer. */
const umociImage = (dir: string) =>
  Effect.gen(function* () {
    const layout = NodePath.join(dir, "layout")
    const file = NodePath.join(dir, "hello.txt")
    NodeFs.writeFileSync(file, `hello from the harness ${dir}\n`)
    yield* umoci.init(layout)
    yield* umoci.new(layout, "v1")
    yield* umoci.insert(layout, "v1", file, "/hello.txt")
    return layout
  })

const creds = (user: string, password: string) => `${user}:${password}`

describe.skipIf(skip !== undefined).each(["none", "htpasswd", "token"] as const)("docker-registry, auth %s", (auth) => {
  let registry: Registry.Registry
  let release: () => Promise<void> = async () => {}
  beforeAll(async () => {
    const acquired = await Registry.acquire(Registry.make({ auth }))
    registry = acquired.value
    release = acquired.release
  })
  afterAll(() => release())

  it.scopedLive("skopeo pushes a umoci image with the harness's credentials and inspects it back", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const layout = yield* umociImage(dir)
      const ref = `docker://${registry.host}/harness/${auth}:v1`
      const credentials = ["--creds", creds(registry.username, registry.password)]
      yield* runOk(skopeoBin, [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds(registry.username, registry.password),
        `oci:${layout}:v1`,
        ref
      ])
      const local = JSON.parse(yield* runOk(skopeoBin, ["inspect", `oci:${layout}:v1`]))
      const remote = JSON.parse(yield* runOk(skopeoBin, ["inspect", "--tls-verify=false", ...credentials, ref]))
      expect(remote.Digest).toBe(local.Digest)
      expect(remote.Layers).toEqual(local.Layers)
      // The registry's access log saw the push (and is where the copy tests look for mounts).
      expect(registry.logs()).toContain(`"PUT /v2/harness/${auth}/manifests/v1 HTTP/1.1" 201`)
    })
  )

  it.scopedLive.skipIf(auth === "none")("wrong and missing credentials are refused", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const layout = yield* umociImage(dir)
      const ref = `docker://${registry.host}/harness/${auth}-refused:v1`
      const wrong = yield* run(skopeoBin, [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds(registry.username, "not-the-password"),
        `oci:${layout}:v1`,
        ref
      ])
      expect(wrong.code).not.toBe(0)
      expect(wrong.stderr).toMatch(/unauthorized|authentication required|401/i)
      const anonymous = yield* run(skopeoBin, ["inspect", "--tls-verify=false", "--no-creds", ref])
      expect(anonymous.code).not.toBe(0)
      expect(anonymous.stderr).toMatch(/unauthorized|authentication required|401/i)
      if (auth === "token") {
        const issued = registry.issuer?.requests() ?? []
        expect(issued.some((request) => request.status === 401 && request.user === registry.username)).toBe(true)
      }
    })
  )

  it.scopedLive("stop and start keep the port and the storage", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const layout = yield* umociImage(dir)
      const ref = `docker://${registry.host}/harness/${auth}-restart:v1`
      const credentials = creds(registry.username, registry.password)
      yield* runOk(skopeoBin, [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        credentials,
        `oci:${layout}:v1`,
        ref
      ])
      yield* registry.stop
      const down = yield* run(skopeoBin, [
        "inspect",
        "--tls-verify=false",
        "--creds",
        credentials,
        "--retry-times",
        "0",
        ref
      ])
      expect(down.code).not.toBe(0)
      expect(down.stderr).toMatch(/connection refused/)
      yield* registry.start
      const up = JSON.parse(yield* runOk(skopeoBin, ["inspect", "--tls-verify=false", "--creds", credentials, ref]))
      expect(up.Layers).toHaveLength(1)
    })
  )

  it.scopedLive(
    "through the fault proxy: skopeo's requests are recorded, a 307 blob redirect is served without Authorization by the other origin",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = yield* umociImage(dir)
        const proxy = yield* FaultProxy.make(registry)
        const credentials = creds(registry.username, registry.password)
        const ref = `docker://${proxy.host}/harness/${auth}-proxied:v1`
        yield* runOk(skopeoBin, [
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          "--dest-creds",
          credentials,
          `oci:${layout}:v1`,
          ref
        ])
        const manifest = JSON.parse(yield* runOk(skopeoBin, ["inspect", "--raw", `oci:${layout}:v1`]))
        const layer: string = manifest.layers[0].digest
        proxy.fault({ method: "GET", path: FaultProxy.blobPath(layer), times: 1, action: { kind: "redirect" } })
        const out = NodePath.join(dir, "out")
        yield* runOk(skopeoBin, [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          "--src-creds",
          credentials,
          ref,
          `oci:${out}:v1`
        ])
        const redirected = proxy.requests().filter((request) => request.fault === "redirect")
        expect(redirected).toHaveLength(1)
        expect(proxy.origin.requests().map((request) => request.path)).toEqual([`/blobs/${layer}`])
        expect(proxy.origin.requests().every((request) => !request.hadAuthorization)).toBe(true)
        if (auth !== "none") expect(redirected[0]?.hadAuthorization).toBe(true)
        expect(
          proxy.requests().some((request) => request.method === "PUT" && request.path.includes("/manifests/v1"))
        ).toBe(true)
      })
  )

  it.scopedLive(
    "through the fault proxy: 429 with Retry-After, 503 and a reset are served the number of times asked, and a wrong-bytes blob fails skopeo's digest check",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = yield* umociImage(dir)
        const proxy = yield* FaultProxy.make(registry)
        const credentials = creds(registry.username, registry.password)
        const ref = `docker://${proxy.host}/harness/${auth}-faults:v1`
        yield* runOk(skopeoBin, [
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          "--dest-creds",
          credentials,
          `oci:${layout}:v1`,
          ref
        ])
        const manifest = JSON.parse(yield* runOk(skopeoBin, ["inspect", "--raw", `oci:${layout}:v1`]))
        const layer: string = manifest.layers[0].digest
        const manifestUrl = `${proxy.url}/v2/harness/${auth}-faults/manifests/v1`
        proxy.fault({
          method: "GET",
          path: /\/manifests\//,
          times: 1,
          action: { kind: "status", status: 429, retryAfter: 2 }
        })
        proxy.fault({ method: "GET", path: /\/manifests\//, times: 1, action: { kind: "status", status: 503 } })
        const answers = yield* Effect.promise(async () => {
          const out: Array<readonly [number, string | null]> = []
          for (let i = 0; i < 3; i++) {
            const response = await fetch(manifestUrl, {
              headers: { accept: "application/vnd.oci.image.manifest.v1+json" }
            })
            await response.arrayBuffer()
            out.push([response.status, response.headers.get("retry-after")])
          }
          return out
        })
        expect(answers).toEqual([
          [429, "2"],
          [503, null],
          [auth === "none" ? 200 : 401, null]
        ])

        if (auth === "none") {
          proxy.fault({
            method: "GET",
            path: FaultProxy.blobPath(layer),
            times: 1,
            action: { kind: "reset", afterBytes: 10 }
          })
          const reset = yield* Effect.promise(() =>
            fetch(`${proxy.url}/v2/harness/${auth}-faults/blobs/${layer}`).then(
              (response) =>
                response.arrayBuffer().then(
                  () => "complete",
                  (error: Error) => `body failed: ${error.message}`
                ),
              (error: Error) => `failed: ${error.message}`
            )
          )
          // Headers and the first bytes may go out in one packet: the failure can come before or during the body.
          expect(reset).toMatch(/failed/)
          expect(
            proxy
              .requests()
              .filter((request) => request.fault === "reset")
              .map((request) => request.bytes)
          ).toEqual([10])
        }

        proxy.fault({ method: "GET", path: FaultProxy.blobPath(layer), times: 5, action: { kind: "corrupt" } })
        const corrupt = yield* run(skopeoBin, [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          "--src-creds",
          credentials,
          ref,
          `oci:${NodePath.join(dir, "bad")}:v1`
        ])
        expect(corrupt.code).not.toBe(0)
        expect(corrupt.stderr).toMatch(/digest/i)
      })
  )
})
