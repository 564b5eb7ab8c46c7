/**
 * The real OCI tools the interop tests run against: umoci (makes and edits layouts) and skopeo (copies and
 * inspects images). Both come from Debian on the CI image; tests skip when a binary is absent.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import { Effect } from "effect"

export const umociPath = "/usr/bin/umoci"
export const skopeoPath = "/usr/bin/skopeo"

export const hasUmoci: boolean = NodeFs.existsSync(umociPath)
export const hasSkopeo: boolean = NodeFs.existsSync(skopeoPath)
export const hasTools: boolean = hasUmoci && hasSkopeo

/** umoci needs --rootless to unpack or insert when not run as root (CI runs as root). */
const rootless: ReadonlyArray<string> = process.getuid?.() === 0 ? [] : ["--rootless"]

/** Runs a command and returns its stdout; a non-zero exit is a defect carrying the command's stderr. */
export const run = (command: string, args: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    const child = ChildProcess.execFile(
      command,
      [...args],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) resume(Effect.die(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`)))
        else resume(Effect.succeed(stdout))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

export const umoci = {
  init: (layout: string) => run(umociPath, ["init", "--layout", layout]),
  /** A new empty image (a config and a manifest, no layers). */
  new: (layout: string, tag: string) => run(umociPath, ["new", "--image", `${layout}:${tag}`]),
  /** Adds a layer holding `file` at `target`, replacing the tag's manifest. */
  insert: (layout: string, tag: string, file: string, target: string) =>
    run(umociPath, ["insert", ...rootless, "--image", `${layout}:${tag}`, file, target]),
  tag: (layout: string, from: string, to: string) => run(umociPath, ["tag", "--image", `${layout}:${from}`, to]),
  remove: (layout: string, tag: string) => run(umociPath, ["rm", "--image", `${layout}:${tag}`]),
  /** A new image whose config says `architecture`, tagged `newTag`. */
  setArchitecture: (layout: string, tag: string, architecture: string, newTag: string) =>
    run(umociPath, ["config", "--image", `${layout}:${tag}`, "--architecture", architecture, "--tag", newTag]),
  list: (layout: string) =>
    run(umociPath, ["ls", "--layout", layout]).pipe(
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
    run(skopeoPath, ["--override-os", "linux", "--override-arch", "amd64", "copy", "--quiet", from, to]),
  /** The raw manifest (or index) `ref` names. */
  inspectRaw: (ref: string) => run(skopeoPath, ["inspect", "--raw", ref])
}
