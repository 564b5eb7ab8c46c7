/**
 * Moving images to and from a registry: `ocidx push` and `ocidx pull` of an image with one 1 GiB layer against
 * `skopeo copy` of the same image, on loopback to docker-registry (no auth), with the peak RSS of each. Every
 * push goes to a registry started fresh for it (the blob store is shared by all repositories, so a second push
 * would find the layer there); every pull goes to a fresh directory. The tools alternate, the order flipping
 * each round, and every copy is checked (the manifest digest at the destination, the layer's size) so that a
 * broken copy is never reported as fast. --quick moves 128 MiB instead of 1 GiB. The library's `Copy.copy` alone
 * (bench/workers/registry-copy.ts) is measured beside the CLI, and alone when the CLI cannot reach registries
 * yet. Each run's CPU time (user + system) is reported too: on a busy 2-CPU machine a single-threaded node
 * gets a smaller share than a Go program with several runnable threads, so the wall times flatter skopeo.
 *
 * The layer is a gzip stream of stored (uncompressed) deflate blocks around a tar of pseudo-random bytes, and
 * is typed tar+gzip: skopeo compresses an uncompressed layer on its way to a registry, which would make it slow
 * and change the digest, so the layer must already look compressed.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Registry from "@ocidx/testkit/Registry"
import { missing, registryPath } from "@ocidx/testkit/Tools"
import { makeBigImage } from "./lib/bigImage.js"
import {
  alternate,
  type CopyRun,
  copyHeadline,
  copyRssLimit,
  copyStats,
  describeRun,
  measureCopy,
  sha256Hex
} from "./lib/copyRuns.js"
import {
  environment,
  formatBytes,
  formatMs,
  GiB,
  headlineSkipped,
  log,
  MiB,
  makeTempDir,
  ocidx,
  removeDir,
  runChecked,
  runGroup,
  runOcidx,
  runProcess,
  skipped,
  summarize,
  syncDisks,
  target,
  which
} from "./lib/support.js"

const rounds = 3
const tag = "bench-0"

type Tool = "ocidx" | "library" | "skopeo"

await runGroup("registry", async ({ headline: rows, measurements, missing: absent, targets }) => {
  const size = environment.quick ? 128 * MiB : GiB
  const label = formatBytes(size)
  const pushId = `push ${label} to a registry`
  const pullId = `pull ${label} from a registry`
  const goal = ">= skopeo copy's throughput"
  const rssGoal = "< 200 MiB"
  const skopeo = which("skopeo")
  const why =
    missing(["docker-registry", registryPath], ["skopeo", skopeo]) ??
    (NodeFs.existsSync("/usr/bin/time") ? undefined : "/usr/bin/time is missing (skopeo's peak RSS)")
  if (why !== undefined || skopeo === undefined) {
    absent.push(why ?? "skopeo")
    for (const id of [pushId, pullId]) targets.push(skipped(id, goal, why ?? ""))
    for (const id of [`peak RSS, ${pushId}`, `peak RSS, ${pullId}`]) targets.push(skipped(id, rssGoal, why ?? ""))
    for (const direction of ["pull", "push"])
      rows.push(headlineSkipped(direction, `ocidx ${direction}, ${label}`, goal, why ?? ""))
    return
  }
  const workers = environment.benchWorkers
  if (workers === undefined) throw new Error("run this through bench/run.mjs")
  const root = makeTempDir("ocidx-bench-registry-")
  try {
    const source = NodePath.join(root, "source")
    log(`an image with one ${label} layer`)
    const { layer, manifest } = await makeBigImage(source, size, { gzip: true })
    syncDisks()

    /** The manifest digest a registry reference (or oci: place) holds, from skopeo's raw manifest. */
    const remoteDigest = (ref: string, tls: Array<string>) =>
      `sha256:${sha256Hex(runChecked(skopeo, ["inspect", "--raw", ...tls, ref]).stdout)}`
    const expectDigest = (what: string, digest: string) => {
      if (digest !== manifest.digest) throw new Error(`${what} holds ${digest}, not ${manifest.digest}`)
    }
    const expectLayer = (dir: string, who: string) => {
      const file = NodePath.join(dir, "blobs", "sha256", layer.digest.slice("sha256:".length))
      const got = NodeFs.existsSync(file) ? NodeFs.statSync(file).size : -1
      if (got !== layer.size) throw new Error(`${who} pulled a layer of ${got} bytes, not ${layer.size}`)
    }
    // The library worker prints its own time for the copy; the CLI prints what it copied.
    const measure = (tool: Tool, command: { readonly command: string; readonly args: ReadonlyArray<string> }) =>
      measureCopy(command, tool === "library")
    // The CLI's copy may not speak to registries yet (its copier then dies at the first registry call): probe
    // it with a pull of a repository that is not there, which a wired CLI answers with exit 1.
    const cliWhy = await (async () => {
      const probe = await Registry.acquire(Registry.make({ auth: "none" }))
      try {
        const { args, command } = ocidx("pull", `${probe.value.host}/absent:x`, NodePath.join(root, "probe"))
        const run = runProcess(command, args)
        return run.status === 1
          ? undefined
          : `ocidx pull of an absent repository exited ${run.status}, not 1: ${run.stderr.trim().split("\n")[0]}`
      } finally {
        await probe.release()
      }
    })()
    if (cliWhy !== undefined) log(`the CLI is not measured: ${cliWhy}`)
    const tools: ReadonlyArray<Tool> = cliWhy === undefined ? ["ocidx", "library", "skopeo"] : ["library", "skopeo"]
    const order = (round: number): ReadonlyArray<Tool> => alternate(tools, round)
    const runs: Record<"push" | "pull", Record<Tool, Array<CopyRun>>> = {
      push: { ocidx: [], library: [], skopeo: [] },
      pull: { ocidx: [], library: [], skopeo: [] }
    }
    const libraryCopy = (from: string, to: string) => ({
      command: process.execPath,
      args: [NodePath.join(workers, "registry-copy.mjs"), from, to]
    })

    // --- push: each to a registry of its own, started for it -----------------------------------------------------
    log(`push of ${label}: ${rounds} rounds of ocidx push and skopeo copy, each to a fresh registry`)
    for (let round = 0; round < rounds; round++) {
      for (const tool of order(round)) {
        const registry = await Registry.acquire(Registry.make({ auth: "none" }))
        try {
          const ref = `${registry.value.host}/${tool}-${round}:${tag}`
          const command =
            tool === "ocidx"
              ? ocidx("push", `${source}:${tag}`, ref)
              : tool === "library"
                ? libraryCopy(`oci:${source}:${tag}`, `docker://${ref}`)
                : {
                    command: skopeo,
                    args: ["copy", "--quiet", "--dest-tls-verify=false", `oci:${source}:${tag}`, `docker://${ref}`]
                  }
          const run = measure(tool, command)
          expectDigest(`${tool} push: docker://${ref}`, remoteDigest(`docker://${ref}`, ["--tls-verify=false"]))
          runs.push[tool].push(run)
          log(`  push round ${round + 1}, ${tool}: ${describeRun(run)}`)
        } finally {
          await registry.release()
        }
      }
    }

    // --- pull: one registry holding the image, each pull into a fresh directory ---------------------------------
    log(`pull of ${label}: ${rounds} rounds of ocidx pull and skopeo copy, each into a fresh directory`)
    const registry = await Registry.acquire(Registry.make({ auth: "none" }))
    try {
      const ref = `${registry.value.host}/img:${tag}`
      runChecked(skopeo, ["copy", "--quiet", "--dest-tls-verify=false", `oci:${source}:${tag}`, `docker://${ref}`])
      removeDir(source)
      for (let round = 0; round < rounds; round++) {
        for (const tool of order(round)) {
          const dir = NodePath.join(root, `pulled-${tool}-${round}`)
          const command =
            tool === "ocidx"
              ? ocidx("pull", ref, `${dir}:${tag}`)
              : tool === "library"
                ? libraryCopy(`docker://${ref}`, `oci:${dir}:${tag}`)
                : {
                    command: skopeo,
                    args: ["copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${dir}:${tag}`]
                  }
          const run = measure(tool, command)
          if (tool !== "skopeo") {
            const got: unknown = JSON.parse(runOcidx("get", dir, tag).stdout)
            const digest = typeof got === "object" && got !== null && "digest" in got ? String(got.digest) : ""
            expectDigest(`ocidx pull: ${dir}`, digest)
          } else {
            expectDigest(`skopeo pull: ${dir}`, remoteDigest(`oci:${dir}:${tag}`, []))
          }
          expectLayer(dir, tool)
          removeDir(dir)
          runs.pull[tool].push(run)
          log(`  pull round ${round + 1}, ${tool}: ${describeRun(run)}`)
        }
      }
    } finally {
      await registry.release()
    }

    const nameOf = (tool: Tool, direction: "push" | "pull") =>
      tool === "ocidx" ? `ocidx ${direction}` : tool === "library" ? "library Copy.copy" : "skopeo copy"
    for (const [direction, id] of [
      ["push", pushId],
      ["pull", pullId]
    ] as const) {
      const times = (tool: Tool) => copyStats(runs[direction][tool], size).times
      const rate = (tool: Tool) => copyStats(runs[direction][tool], size).rate
      const peak = (tool: Tool) => copyStats(runs[direction][tool], size).peakRss
      const cpu = (tool: Tool) => copyStats(runs[direction][tool], size).cpuMs
      for (const tool of tools) {
        measurements.push(
          summarize(
            `${nameOf(tool, direction)} ${label} (${direction}, process)`,
            times(tool),
            `${rate(tool)}, CPU ${formatMs(cpu(tool))}, peak RSS ${formatBytes(peak(tool))}`
          )
        )
        const alone = runs[direction][tool].flatMap((run) => (run.copyMs === undefined ? [] : [run.copyMs]))
        if (alone.length > 0) {
          measurements.push(
            summarize(`${nameOf(tool, direction)} ${label} (${direction}, the copy alone)`, alone, "no start-up")
          )
        }
      }
      const note =
        direction === "pull"
          ? "ocidx fsyncs what it writes; skopeo does not"
          : "each push to a registry started for it (nothing already present)"
      rows.push(
        tools.includes("ocidx")
          ? copyHeadline({
              key: direction,
              what: `ocidx ${direction}, ${label} (registry on loopback)`,
              ocidx: runs[direction].ocidx,
              skopeo: runs[direction].skopeo,
              bytes: size,
              note
            })
          : headlineSkipped(direction, `ocidx ${direction}, ${label}`, goal, cliWhy ?? "")
      )
      // The CLI's rows, and the library's beside them (the same copy without the CLI around it).
      for (const tool of ["ocidx", "library"] as const) {
        const rowId = tool === "ocidx" ? id : `${id} (library)`
        if (!tools.includes(tool)) {
          targets.push(skipped(rowId, goal, cliWhy ?? ""), skipped(`peak RSS, ${rowId}`, rssGoal, cliWhy ?? ""))
          continue
        }
        const ratio = copyStats(runs[direction][tool], size).ms / copyStats(runs[direction].skopeo, size).ms
        targets.push(
          target({
            id: rowId,
            target: goal,
            measured: `${rate(tool)} vs ${rate("skopeo")} (${(1 / ratio).toFixed(2)}x; CPU ${(cpu(tool) / cpu("skopeo")).toFixed(2)}x)`,
            ratio,
            ratioOf: `median time of ${nameOf(tool, direction)} / of skopeo copy, ${rounds} rounds on loopback`,
            limit: 1,
            note
          }),
          target({
            id: `peak RSS, ${rowId}`,
            target: rssGoal,
            measured: `${formatBytes(peak(tool))} (skopeo ${formatBytes(peak("skopeo"))})`,
            ratio: peak(tool) / copyRssLimit,
            ratioOf: "largest peak RSS over the rounds / 200 MiB, via /usr/bin/time -f %M",
            limit: 1,
            strict: true
          })
        )
      }
    }
  } finally {
    removeDir(root)
  }
})
