/**
 * Image archives (issue 12): `ocidx export` and `ocidx import` of an image with one 1 GiB layer against `skopeo
 * copy` between `oci:` and `oci-archive:` / `docker-archive:`, with wall time, CPU time and peak RSS of each.
 * The tools alternate, the order flipping each round, disks are flushed before each run, and every result is
 * checked so that a broken copy is never reported as fast: an archive is read through, every blob's bytes
 * hashed against its name (OCI) or against the source's digests (docker's manifest.json), and its index.json
 * must name the source's manifest; an imported layout must hold the source's manifest digest under the tag
 * (`ocidx get`, `skopeo inspect --raw`) and the whole layer. --quick moves 128 MiB instead of 1 GiB.
 *
 * The layer is a plain tar (typed `tar`): skopeo decompresses a compressed layer on its way into a
 * docker-archive (docker's archives hold layer.tar files), which would change its digest and time a gunzip;
 * an uncompressed layer goes into either archive as it is, with either tool, given skopeo's
 * `--dest-oci-accept-uncompressed-layers` (else it gzips it on its way into `oci-archive:` and `oci:`). The import reads an archive
 * skopeo wrote, so both tools read the same bytes.
 */
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
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
  skipped,
  summarize,
  syncDisks,
  target,
  which
} from "./lib/support.js"

const rounds = 3
const tag = "bench-0"
const dockerName = `localhost/bench:${tag}`

/** What a tar holds: each regular file's size and sha256, and the bytes of the small ones. */
interface TarEntry {
  readonly size: number
  readonly sha256: string
  readonly text?: string | undefined
}

/**
 * Reads a tar through (ustar, with pax `path` records), hashing every regular file; links are skipped (the
 * checks below look files up by the names the archive's own index gives).
 */
const readTar = (file: string): Map<string, TarEntry> => {
  const entries = new Map<string, TarEntry>()
  const fd = NodeFs.openSync(file, "r")
  const chunk = Buffer.allocUnsafe(4 * MiB)
  let position = 0
  const readExactly = (into: Buffer, length: number): void => {
    let got = 0
    while (got < length) {
      const n = NodeFs.readSync(fd, into, got, length - got, position)
      if (n === 0) throw new Error(`${file}: tar cut short at byte ${position}`)
      got += n
      position += n
    }
  }
  try {
    const header = Buffer.alloc(512)
    let paxPath: string | undefined
    for (;;) {
      readExactly(header, 512)
      if (header.every((byte) => byte === 0)) break
      const field = (offset: number, length: number) => {
        const raw = header.subarray(offset, offset + length)
        const end = raw.indexOf(0)
        return raw.subarray(0, end === -1 ? length : end).toString("utf8")
      }
      const size = Number.parseInt(field(124, 12).trim() || "0", 8)
      const type = String.fromCharCode(header[156] ?? 0)
      const prefix = field(345, 155)
      const name = paxPath ?? (prefix === "" ? field(0, 100) : `${prefix}/${field(0, 100)}`)
      paxPath = undefined
      const padded = size + ((512 - (size % 512)) % 512)
      const hash = NodeCrypto.createHash("sha256")
      const small: Array<Buffer> = []
      for (let done = 0; done < padded; ) {
        const length = Math.min(chunk.length, padded - done)
        readExactly(chunk, length)
        const data = chunk.subarray(0, Math.max(0, Math.min(length, size - done)))
        hash.update(data)
        if (size <= MiB) small.push(Buffer.from(data))
        done += length
      }
      const text = size <= MiB ? Buffer.concat(small).toString("utf8") : undefined
      if (type === "x") {
        paxPath = /\d+ path=([^\n]*)\n/.exec(text ?? "")?.[1]
      } else if (type === "0" || type === "\u0000") {
        entries.set(name.replace(/^\.\//, ""), { size, sha256: `sha256:${hash.digest("hex")}`, text })
      }
    }
  } finally {
    NodeFs.closeSync(fd)
  }
  return entries
}

interface Source {
  readonly manifest: { readonly digest: string; readonly size: number }
  readonly config: { readonly digest: string }
  readonly layer: { readonly digest: string; readonly size: number }
}

const jsonOf = (what: string, text: string | undefined): unknown => {
  if (text === undefined) throw new Error(`${what} is missing`)
  return JSON.parse(text)
}

const fieldOf = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? Object.getOwnPropertyDescriptor(value, key)?.value : undefined

/** An OCI archive must name the source's manifest under `tag` and hold every blob, each matching its name. */
const checkOciArchive = (file: string, who: string, source: Source): void => {
  const entries = readTar(file)
  const index = jsonOf(`${who}: index.json`, entries.get("index.json")?.text)
  const manifests = fieldOf(index, "manifests")
  const named = (Array.isArray(manifests) ? manifests : []).filter(
    (entry) => fieldOf(fieldOf(entry, "annotations"), "org.opencontainers.image.ref.name") === tag
  )
  const digests = named.map((entry) => String(fieldOf(entry, "digest")))
  if (digests.length !== 1 || digests[0] !== source.manifest.digest) {
    throw new Error(
      `${who}: index.json names ${tag} as ${digests.join(", ") || "nothing"}, not ${source.manifest.digest}`
    )
  }
  for (const digest of [source.manifest.digest, source.config.digest, source.layer.digest]) {
    const entry = entries.get(`blobs/sha256/${digest.slice("sha256:".length)}`)
    if (entry?.sha256 !== digest) throw new Error(`${who}: blob ${digest} is ${entry ? entry.sha256 : "missing"}`)
  }
}

/** A docker archive's manifest.json must point at the source's config and layer, byte for byte. */
const checkDockerArchive = (file: string, who: string, source: Source): void => {
  const entries = readTar(file)
  const manifest = jsonOf(`${who}: manifest.json`, entries.get("manifest.json")?.text)
  const image: unknown = Array.isArray(manifest) && manifest.length === 1 ? manifest[0] : undefined
  const config = String(fieldOf(image, "Config"))
  const layers = fieldOf(image, "Layers")
  const got = [config, ...(Array.isArray(layers) ? layers.map(String) : [])].map(
    (path) => entries.get(path.replace(/^\.\//, ""))?.sha256 ?? `nothing at ${path}`
  )
  const want = [source.config.digest, source.layer.digest]
  if (got.join(" ") !== want.join(" ")) throw new Error(`${who}: manifest.json points at ${got.join(", ")}`)
}

/** An imported layout must hold the source's manifest under `t` and the whole layer. */
const checkImported = (dir: string, who: string, source: Source, skopeo: string): void => {
  const digest =
    who === "skopeo"
      ? `sha256:${sha256Hex(runChecked(skopeo, ["inspect", "--raw", `oci:${dir}:t`]).stdout)}`
      : String(fieldOf(JSON.parse(runOcidx("get", dir, "t").stdout), "digest"))
  if (digest !== source.manifest.digest) throw new Error(`${who} import: ${dir} holds ${digest}`)
  const layer = NodePath.join(dir, "blobs", "sha256", source.layer.digest.slice("sha256:".length))
  const size = NodeFs.existsSync(layer) ? NodeFs.statSync(layer).size : -1
  if (size !== source.layer.size) throw new Error(`${who} import: a layer of ${size} bytes, not ${source.layer.size}`)
}

type Tool = "ocidx" | "skopeo"
type Operation = "export" | "export --format docker" | "import"

/** Issue 14's row key of each operation. */
const keys: Record<Operation, string> = {
  export: "export",
  "export --format docker": "export-docker",
  import: "import"
}

await runGroup("archive", async ({ headline: rows, measurements, missing: absent, targets }) => {
  const size = environment.quick ? 128 * MiB : GiB
  const label = formatBytes(size)
  const ids: Record<Operation, string> = {
    export: `export ${label} to an OCI archive`,
    "export --format docker": `export ${label} to a docker archive`,
    import: `import ${label} from an OCI archive`
  }
  const goal = ">= skopeo copy's throughput"
  const rssGoal = "< 200 MiB"
  const skopeo = which("skopeo")
  const why =
    skopeo === undefined
      ? "skopeo is missing"
      : NodeFs.existsSync("/usr/bin/time")
        ? undefined
        : "/usr/bin/time is missing (wall, CPU and RSS)"
  if (why !== undefined || skopeo === undefined) {
    absent.push(why ?? "skopeo")
    for (const id of Object.values(ids)) {
      targets.push(skipped(id, goal, why ?? ""))
      targets.push(skipped(`peak RSS, ${id}`, rssGoal, why ?? ""))
    }
    for (const operation of ["export", "export --format docker", "import"] as const) {
      rows.push(headlineSkipped(keys[operation], `ocidx ${ids[operation]}`, goal, why ?? ""))
    }
    return
  }
  const root = makeTempDir("ocidx-bench-archive-")
  try {
    const sourceDir = NodePath.join(root, "source")
    log(`an image with one ${label} layer (plain tar)`)
    const source = await makeBigImage(sourceDir, size, { gzip: false })
    syncDisks()

    const tools: ReadonlyArray<Tool> = ["ocidx", "skopeo"]
    const order = (round: number): ReadonlyArray<Tool> => alternate(tools, round)
    const runs: Record<Operation, Record<Tool, Array<CopyRun>>> = {
      export: { ocidx: [], skopeo: [] },
      "export --format docker": { ocidx: [], skopeo: [] },
      import: { ocidx: [], skopeo: [] }
    }
    // Without the flag, skopeo gzips an uncompressed layer on its way into an OCI layout or archive.
    const skopeoCopy = (from: string, to: string) => ({
      command: skopeo,
      args: ["copy", "--quiet", ...(to.startsWith("oci") ? ["--dest-oci-accept-uncompressed-layers"] : []), from, to]
    })

    for (const operation of ["export", "export --format docker"] as const) {
      const docker = operation !== "export"
      log(`${operation} of ${label}: ${rounds} rounds of ocidx and skopeo copy`)
      for (let round = 0; round < rounds; round++) {
        for (const tool of order(round)) {
          const file = NodePath.join(root, `${tool}-${round}.tar`)
          const command =
            tool === "ocidx"
              ? ocidx("export", `${sourceDir}:${tag}`, file, ...(docker ? ["--format", "docker"] : []))
              : skopeoCopy(
                  `oci:${sourceDir}:${tag}`,
                  docker ? `docker-archive:${file}:${dockerName}` : `oci-archive:${file}:${tag}`
                )
          const run = measureCopy(command)
          if (docker) checkDockerArchive(file, `${tool} ${operation}`, source)
          else checkOciArchive(file, `${tool} ${operation}`, source)
          removeDir(file)
          runs[operation][tool].push(run)
          log(`  ${operation} round ${round + 1}, ${tool}: ${describeRun(run)}`)
        }
      }
    }

    log(`import of ${label}: ${rounds} rounds of ocidx import and skopeo copy, each into a fresh directory`)
    const archive = NodePath.join(root, "archive.tar")
    const made = skopeoCopy(`oci:${sourceDir}:${tag}`, `oci-archive:${archive}:${tag}`)
    runChecked(made.command, made.args)
    checkOciArchive(archive, "skopeo export (the import's input)", source)
    removeDir(sourceDir)
    for (let round = 0; round < rounds; round++) {
      for (const tool of order(round)) {
        const dir = NodePath.join(root, `imported-${tool}-${round}`)
        const command =
          tool === "ocidx"
            ? ocidx("import", archive, dir, "--tag", "t")
            : skopeoCopy(`oci-archive:${archive}:${tag}`, `oci:${dir}:t`)
        const run = measureCopy(command)
        checkImported(dir, tool, source, skopeo)
        removeDir(dir)
        runs.import[tool].push(run)
        log(`  import round ${round + 1}, ${tool}: ${describeRun(run)}`)
      }
    }

    for (const operation of ["export", "export --format docker", "import"] as const) {
      const stats = (tool: Tool) => copyStats(runs[operation][tool], size)
      const times = (tool: Tool) => stats(tool).times
      const rate = (tool: Tool) => stats(tool).rate
      const peak = (tool: Tool) => stats(tool).peakRss
      const cpu = (tool: Tool) => stats(tool).cpuMs
      for (const tool of tools) {
        const name = tool === "ocidx" ? `ocidx ${operation}` : "skopeo copy"
        measurements.push(
          summarize(
            `${name} ${label} (${operation === "import" ? "oci-archive -> oci" : operation === "export" ? "oci -> oci-archive" : "oci -> docker-archive"})`,
            times(tool),
            `${rate(tool)}, CPU ${formatMs(cpu(tool))}, peak RSS ${formatBytes(peak(tool))}`
          )
        )
      }
      rows.push(
        copyHeadline({
          key: keys[operation],
          what: `ocidx ${ids[operation]}`,
          ocidx: runs[operation].ocidx,
          skopeo: runs[operation].skopeo,
          bytes: size
        })
      )
      const ratio = stats("ocidx").ms / stats("skopeo").ms
      targets.push(
        target({
          id: ids[operation],
          target: goal,
          measured: `${rate("ocidx")} vs ${rate("skopeo")} (${(1 / ratio).toFixed(2)}x)`,
          ratio,
          ratioOf: `median wall time of ocidx ${operation} / skopeo copy, ${rounds} rounds each`,
          limit: 1,
          note: `median CPU ${formatMs(cpu("ocidx"))} vs ${formatMs(cpu("skopeo"))}`
        })
      )
      targets.push(
        target({
          id: `peak RSS, ${ids[operation]}`,
          target: rssGoal,
          measured: `${formatBytes(peak("ocidx"))} (skopeo ${formatBytes(peak("skopeo"))})`,
          ratio: peak("ocidx") / copyRssLimit,
          ratioOf: `largest peak RSS of ocidx ${operation} in ${rounds} rounds / 200 MiB`,
          limit: 1,
          strict: true
        })
      )
    }
  } finally {
    removeDir(root)
  }
})
