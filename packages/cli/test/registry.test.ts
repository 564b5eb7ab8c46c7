/**
 * `ocidx push`, `pull` and `copy` against a real registry (Debian's docker-registry, distribution 2.8) in its
 * three auth configurations (none, htpasswd Basic, token with an ES256 `x5c` JWT issuer), checked with skopeo:
 * the same digests both ways (a multi-arch index too), `--platform` picks what skopeo picks, a same-registry
 * copy mounts, refused credentials give 77 with nothing tagged and no secret printed, a missing tag gives 1,
 * and a stopped registry 69. Credentials come only from a temp `$DOCKER_CONFIG`. Skipped, with a message,
 * where docker-registry, htpasswd, openssl, skopeo or umoci is missing. The fault proxy cases are in
 * registry.faults.test.ts.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { run, runOk } from "@ocidx/testkit/Processes"
import * as Registry from "@ocidx/testkit/Registry"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath, umociPath } from "@ocidx/testkit/Tools"
import { Effect } from "effect"
import {
  credentialEnv,
  entryOf,
  expectExit,
  multiArchImage,
  readJsonBlob,
  secretsOf,
  singleImage
} from "./support/registry.js"

const skip = Registry.unavailable ?? missing(["skopeo", skopeoPath], ["umoci", umociPath])
announceSkip("the real-registry end-to-end tests", skip)

const skopeoBin = skopeoPath ?? "skopeo"

/** The one line an error prints: `ocidx: ...`, naming the registry. */
const expectOneErrorLine = (stderr: string, host: string) => {
  const lines = stderr.split("\n").filter((line) => line !== "")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^ocidx: /)
  expect(lines[0]).toContain(host)
}

const expectNoSecret = (output: ReadonlyArray<string>, secrets: ReadonlyArray<string>) => {
  for (const text of output) for (const secret of secrets) expect(text).not.toContain(secret)
}

describe.skipIf(skip !== undefined).concurrent.each(["none", "htpasswd", "token"] as const)(
  "ocidx against docker-registry, auth %s",
  (auth) => {
    let registry: Registry.Registry
    let release: () => Promise<void> = async () => {}
    beforeAll(async () => {
      const acquired = await Registry.acquire(Registry.make({ auth }))
      registry = acquired.value
      release = acquired.release
    })
    afterAll(() => release())

    // Digests both ways and refused credentials are proved in every configuration; what does not depend on
    // the auth scheme runs once, under token auth, where a mount needs a token scoped to both repositories.

    /** The registry's password in every form, and every token the issuer has handed out so far. */
    const secrets = (): ReadonlyArray<string> => [
      ...secretsOf(registry.username, registry.password),
      ...(registry.issuer?.requests().flatMap((request) => (request.token === undefined ? [] : [request.token])) ?? [])
    ]

    /** ocidx's environment, with the registry's user and password in a temp `$DOCKER_CONFIG`. */
    const loggedIn = (home: string) => credentialEnv(home, registry.dockerConfig(registry.username, registry.password))
    const skopeoCreds = (flag: "--creds" | "--src-creds" | "--dest-creds") =>
      auth === "none" ? [] : [flag, `${registry.username}:${registry.password}`]
    /** What skopeo copies from the registry into `layout`, every platform, digests preserved. */
    const skopeoPull = (ref: string, layout: string, tag: string) =>
      runOk(skopeoBin, [
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        ...skopeoCreds("--src-creds"),
        `docker://${registry.host}/${ref}`,
        `oci:${layout}:${tag}`
      ])
    const skopeoPush = (layout: string, tag: string, ref: string) =>
      runOk(skopeoBin, [
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        ...skopeoCreds("--dest-creds"),
        `oci:${layout}:${tag}`,
        `docker://${registry.host}/${ref}`
      ])

    it.scopedLive("what ocidx pushes, skopeo pulls with the same digests", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* singleImage(dir, { "a.txt": "layer a\n", "b.txt": "layer b\n" })
        const pushed = yield* expectExit(0, loggedIn(dir), [
          "push",
          `${image.layout}:v1`,
          `${registry.host}/e2e/push:v1`
        ])
        expectNoSecret([pushed.stdout, pushed.stderr], secrets())

        const back = NodePath.join(dir, "back")
        yield* skopeoPull("e2e/push:v1", back, "v1")
        expect(entryOf(back, "v1")?.digest).toBe(image.manifest.digest)
        const manifest = readJsonBlob(image.layout, image.manifest.digest)
        expect(readJsonBlob(back, image.manifest.digest)).toEqual(manifest)
        expect(manifest.layers).toHaveLength(2)
      })
    )

    it.scopedLive("what skopeo pushes, ocidx pulls with the same digests, and the layout verifies", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* singleImage(dir, { "c.txt": "layer c\n" })
        yield* skopeoPush(image.layout, "v1", "e2e/pull:v1")
        const out = NodePath.join(dir, "out")
        const pulled = yield* expectExit(0, loggedIn(dir), ["pull", `${registry.host}/e2e/pull:v1`, `${out}:v1`])
        expectNoSecret([pulled.stdout, pulled.stderr], secrets())
        expect(entryOf(out, "v1")?.digest).toBe(image.manifest.digest)
        const local = JSON.parse(yield* runOk(skopeoBin, ["inspect", `oci:${image.layout}:v1`]))
        const arrived = JSON.parse(yield* runOk(skopeoBin, ["inspect", `oci:${out}:v1`]))
        expect(arrived.Digest).toBe(local.Digest)
        expect(arrived.Layers).toEqual(local.Layers)
        yield* expectExit(0, {}, ["verify", out])
      })
    )

    it.scopedLive("a multi-arch index keeps its digest, pushed by ocidx and by skopeo", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* multiArchImage(dir)
        yield* expectExit(0, loggedIn(dir), ["push", `${image.layout}:multi`, `${registry.host}/e2e/multi:m`])
        const back = NodePath.join(dir, "back")
        yield* skopeoPull("e2e/multi:m", back, "m")
        expect(entryOf(back, "m")?.digest).toBe(image.index.digest)
        expect(
          readJsonBlob(back, image.index.digest)
            .manifests?.map((entry) => entry.digest)
            .sort()
        ).toEqual([image.amd64.digest, image.arm64.digest].sort())

        yield* skopeoPush(image.layout, "multi", "e2e/multi-skopeo:m")
        const out = NodePath.join(dir, "out")
        yield* expectExit(0, loggedIn(dir), ["pull", `${registry.host}/e2e/multi-skopeo:m`, `${out}:m`])
        expect(entryOf(out, "m")?.digest).toBe(image.index.digest)
        yield* expectExit(0, {}, ["verify", out])
      })
    )

    it.scopedLive.skipIf(auth !== "token")("--platform gives the manifest skopeo picks with --override-arch", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* multiArchImage(dir)
        yield* skopeoPush(image.layout, "multi", "e2e/platforms:m")
        for (const architecture of ["arm64", "amd64"]) {
          // What `skopeo copy` (without --all) takes from the index for that platform; `skopeo inspect` would
          // report the index's own digest.
          const picks = NodePath.join(dir, `skopeo-${architecture}`)
          yield* runOk(skopeoBin, [
            "--override-os",
            "linux",
            "--override-arch",
            architecture,
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            ...skopeoCreds("--src-creds"),
            `docker://${registry.host}/e2e/platforms:m`,
            `oci:${picks}:${architecture}`
          ])
          const picked = entryOf(picks, architecture)?.digest
          expect(picked, `skopeo --override-arch ${architecture}`).toBe(
            architecture === "arm64" ? image.arm64.digest : image.amd64.digest
          )
          const out = NodePath.join(dir, `out-${architecture}`)
          yield* expectExit(0, loggedIn(dir), [
            "pull",
            `${registry.host}/e2e/platforms:m`,
            `${out}:${architecture}`,
            "--platform",
            `linux/${architecture}`
          ])
          expect(entryOf(out, architecture)?.digest, `ocidx --platform linux/${architecture}`).toBe(picked)
          yield* expectExit(0, {}, ["verify", out])
        }
      })
    )

    it.scopedLive.skipIf(auth !== "token")("a same-registry copy mounts the blobs instead of uploading them", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* singleImage(dir, { "m.txt": "to be mounted\n" })
        yield* skopeoPush(image.layout, "v1", "e2e/mount-from:v1")
        const copied = yield* expectExit(0, loggedIn(dir), [
          "copy",
          `docker://${registry.host}/e2e/mount-from:v1`,
          `docker://${registry.host}/e2e/mount-to:v1`,
          "--json"
        ])
        const result = JSON.parse(copied.stdout)
        expect(result.manifest.digest).toBe(image.manifest.digest)
        const log = registry.logs()
        // distribution's access log: a mount is a POST to the destination's uploads with `mount=` and `from=`,
        // answered 201 Created; an upload would PUT (or PATCH) to the destination's uploads.
        const mounts = log
          .split("\n")
          .filter((line) => /"POST \/v2\/e2e\/mount-to\/blobs\/uploads\/\?[^"]*mount=sha256/.test(line))
        expect(mounts.length).toBeGreaterThanOrEqual(2)
        expect(mounts.every((line) => /HTTP\/1\.1" 201 /.test(line))).toBe(true)
        expect(log).not.toMatch(/"(PUT|PATCH) \/v2\/e2e\/mount-to\/blobs\/uploads/)
        const arrived = JSON.parse(
          yield* runOk(skopeoBin, [
            "inspect",
            "--tls-verify=false",
            ...skopeoCreds("--creds"),
            `docker://${registry.host}/e2e/mount-to:v1`
          ])
        )
        expect(arrived.Digest).toBe(image.manifest.digest)
      })
    )

    it.scopedLive.skipIf(auth !== "token")("a missing tag gives 1, and tags nothing", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = yield* singleImage(dir, { "t.txt": "tagged\n" })
        yield* skopeoPush(image.layout, "v1", "e2e/missing-tag:v1")
        const out = NodePath.join(dir, "out")
        const result = yield* expectExit(1, loggedIn(dir), [
          "pull",
          `${registry.host}/e2e/missing-tag:nope`,
          `${out}:v1`
        ])
        expectOneErrorLine(result.stderr, registry.host)
        expect(entryOf(out, "v1")).toBeUndefined()
      })
    )

    it.scopedLive.skipIf(auth !== "token")(
      "after ocidx login, push works and skopeo reads the stored credentials; after ocidx logout, 77",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const image = yield* singleImage(dir, { "l.txt": "logged in\n" })
          const dockerConfig = NodePath.join(dir, "docker-config")
          const env = credentialEnv(dir, dockerConfig)
          const ref = `${registry.host}/e2e/login:v1`
          const login = yield* expectExit(
            0,
            env,
            ["login", registry.host, "-u", registry.username, "--password-stdin"],
            `${registry.password}\n`
          )
          expectNoSecret([login.stdout, login.stderr], secrets())
          const pushed = yield* expectExit(0, env, ["push", `${image.layout}:v1`, ref])
          expectNoSecret([pushed.stdout, pushed.stderr], secrets())
          const inspected = JSON.parse(
            yield* runOk(skopeoBin, [
              "inspect",
              "--tls-verify=false",
              "--authfile",
              NodePath.join(dockerConfig, "config.json"),
              `docker://${ref}`
            ])
          )
          expect(inspected.Digest).toBe(image.manifest.digest)
          yield* expectExit(0, env, ["logout", registry.host])
          const refused = yield* expectExit(77, env, ["pull", ref, `${NodePath.join(dir, "out")}:v1`])
          expectOneErrorLine(refused.stderr, registry.host)
        })
    )

    it.scopedLive.skipIf(auth === "none")(
      "a wrong or missing password gives 77, tags nothing, and no secret is printed",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const image = yield* singleImage(dir, { "r.txt": "refused\n" })
          const wrongPassword = "wrong-Pa55-not-this-one"
          const wrong = credentialEnv(dir, registry.dockerConfig(registry.username, wrongPassword))
          const none = credentialEnv(dir, NodeFs.mkdtempSync(NodePath.join(dir, "no-credentials-")))
          const allSecrets = () => [...secretsOf(registry.username, wrongPassword), ...secrets()]

          for (const env of [wrong, none]) {
            const pushed = yield* expectExit(77, env, ["push", `${image.layout}:v1`, `${registry.host}/e2e/refused:v1`])
            expectOneErrorLine(pushed.stderr, registry.host)
            expectNoSecret([pushed.stdout, pushed.stderr], allSecrets())
          }
          const tagged = yield* run(skopeoBin, [
            "inspect",
            "--tls-verify=false",
            ...skopeoCreds("--creds"),
            `docker://${registry.host}/e2e/refused:v1`
          ])
          expect(tagged.code).not.toBe(0)
          expect(tagged.stderr).toMatch(/manifest unknown|not found/i)

          yield* skopeoPush(image.layout, "v1", "e2e/private:v1")
          for (const env of [wrong, none]) {
            const out = NodePath.join(dir, `out-${env === wrong ? "wrong" : "none"}`)
            const pulled = yield* expectExit(77, env, ["pull", `${registry.host}/e2e/private:v1`, `${out}:v1`])
            expectOneErrorLine(pulled.stderr, registry.host)
            expectNoSecret([pulled.stdout, pulled.stderr], allSecrets())
            expect(entryOf(out, "v1")).toBeUndefined()
          }
        })
    )
  }
)

describe.skipIf(skip !== undefined)("ocidx against a stopped registry", () => {
  it.scopedLive("gives 69 after its bounded retries, and tags nothing", () =>
    Effect.gen(function* () {
      const registry = yield* Registry.make({ auth: "none" })
      const dir = yield* tempDir
      const image = yield* singleImage(dir, { "s.txt": "stopped\n" })
      yield* expectExit(0, credentialEnv(dir), ["push", `${image.layout}:v1`, `${registry.host}/e2e/stopped:v1`])
      yield* registry.stop
      const out = NodePath.join(dir, "out")
      const pulled = yield* expectExit(69, credentialEnv(dir), ["pull", `${registry.host}/e2e/stopped:v1`, `${out}:v1`])
      expectOneErrorLine(pulled.stderr, registry.host)
      expect(entryOf(out, "v1")).toBeUndefined()
      const pushed = yield* expectExit(69, credentialEnv(dir), [
        "push",
        `${image.layout}:v1`,
        `${registry.host}/e2e/stopped:v2`
      ])
      expectOneErrorLine(pushed.stderr, registry.host)
    })
  )
})
