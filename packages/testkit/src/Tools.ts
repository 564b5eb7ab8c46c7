/**
 * The real tools tests run against, found on PATH: umoci (makes and edits layouts), skopeo (copies and
 * inspects images), util-linux `flock`, and docker-registry, htpasswd and openssl (the test registry of
 * Registry.ts). Tests skip, saying why, where a tool is absent.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { runOk } from "./Processes.js"

/** Where `name` is on PATH, or `undefined`. */
export const findTool = (name: string): string | undefined =>
  (process.env.PATH ?? "/usr/bin:/bin")
    .split(NodePath.delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => NodePath.join(dir, name))
    .find((path) => NodeFs.existsSync(path))

export const umociPath: string | undefined = findTool("umoci")
export const skopeoPath: string | undefined = findTool("skopeo")
export const flockPath: string | undefined = findTool("flock")
/** Debian's distribution 2.8 registry, and apache2-utils' htpasswd for its Basic auth file (Registry.ts). */
export const registryPath: string | undefined = findTool("docker-registry")
export const htpasswdPath: string | undefined = findTool("htpasswd")
export const opensslPath: string | undefined = findTool("openssl")

export const hasUmoci: boolean = umociPath !== undefined
export const hasSkopeo: boolean = skopeoPath !== undefined
export const hasTools: boolean = hasUmoci && hasSkopeo

/** Why tests that need `tools` ([name, path] pairs) cannot run, or `undefined` when they can. */
export const missing = (...tools: ReadonlyArray<readonly [string, string | undefined]>): string | undefined => {
  const absent = tools.filter(([, path]) => path === undefined).map(([name]) => name)
  return absent.length === 0 ? undefined : `${absent.join(" and ")} not installed`
}

/** Says once, on stderr, why a group of tests is skipped (nothing when `reason` is `undefined`). */
export const announceSkip = (what: string, reason: string | undefined): void => {
  if (reason !== undefined) process.stderr.write(`[ocidx tests] skipping ${what}: ${reason}\n`)
}

/** A tool's run whose failure is a defect of the test, carrying the tool's stderr. */
const tool = (path: string | undefined, name: string, args: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.orDie(runOk(path ?? name, args, { timeout: "20 seconds" }))

/** umoci needs --rootless to unpack or insert when not run as root (CI runs as root). */
const rootless: ReadonlyArray<string> = process.getuid?.() === 0 ? [] : ["--rootless"]

export const umoci = {
  init: (layout: string) => tool(umociPath, "umoci", ["init", "--layout", layout]),
  /** A new empty image (a config and a manifest, no layers). */
  new: (layout: string, tag: string) => tool(umociPath, "umoci", ["new", "--image", `${layout}:${tag}`]),
  /** Adds a layer holding `file` at `target`, replacing the tag's manifest. */
  insert: (layout: string, tag: string, file: string, target: string) =>
    tool(umociPath, "umoci", ["insert", ...rootless, "--image", `${layout}:${tag}`, file, target]),
  tag: (layout: string, from: string, to: string) =>
    tool(umociPath, "umoci", ["tag", "--image", `${layout}:${from}`, to]),
  remove: (layout: string, tag: string) => tool(umociPath, "umoci", ["rm", "--image", `${layout}:${tag}`]),
  /** A new image whose config says `architecture`, tagged `newTag`. */
  setArchitecture: (layout: string, tag: string, architecture: string, newTag: string) =>
    tool(umociPath, "umoci", [
      "config",
      "--image",
      `${layout}:${tag}`,
      "--architecture",
      architecture,
      "--tag",
      newTag
    ]),
  list: (layout: string) =>
    tool(umociPath, "umoci", ["ls", "--layout", layout]).pipe(
      Effect.map((out) =>
        out
          .split("\n")
          .map((line) => line.trim())
          .filter((line) => line.length > 0)
      )
    )
}

export const skopeo = {
  /** Copies an image; from a multi-arch index it takes linux/amd64, whatever the host is. */
  copy: (from: string, to: string) =>
    tool(skopeoPath, "skopeo", ["--override-os", "linux", "--override-arch", "amd64", "copy", "--quiet", from, to]),
  /** The raw manifest (or index) `ref` names. */
  inspectRaw: (ref: string) => tool(skopeoPath, "skopeo", ["inspect", "--raw", ref])
}
