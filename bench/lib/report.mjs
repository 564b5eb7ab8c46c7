// Turning the groups' reports into what bench/run.mjs prints (plain-text tables) and into bench/RESULTS.md (the
// template bench/RESULTS.template.md with its {{placeholders}} filled from the same data): one source for both,
// so that no number in RESULTS.md is ever typed by hand.

/**
 * Issue 14's targets, in the order of its table: each row's key (the `key` of the rows the groups emit), the
 * group that measures it, and what to print when that group did not run or failed. The cli group's `ls` row
 * appears once per node measured (--also-node).
 */
export const headlineRows = [
  { key: "ls", group: "cli", what: "ocidx ls, small layout", target: "<= 2.0x" },
  { key: "put-10k", group: "cli", what: "ocidx put, 10,000 tags, whole process", target: "<= 1.0x" },
  { key: "put-0", group: "cli", what: "ocidx put, 0 tags", target: "none (reported)" },
  { key: "verify-10k", group: "verify", what: "ocidx verify, 10,000 small blobs", target: "<= 1.5x" },
  { key: "gc-10k", group: "gc", what: "ocidx gc, 10,000 small blobs", target: "<= 1.5x" },
  {
    key: "contention-c",
    group: "contention",
    what: "8 processes x 50 library puts (compiled flock writer)",
    target: "<= 2.0x; 0 lost"
  },
  {
    key: "contention-py",
    group: "contention",
    what: "8 processes x 50 library puts (flock_writer.py)",
    target: "<= 2.0x; 0 lost"
  },
  { key: "blob-put", group: "blobs", what: "ocidx blob put", target: ">= 1.0x throughput; RSS < 96 MiB" },
  { key: "pull", group: "registry", what: "ocidx pull, 1 GiB", target: ">= 1.0x throughput; RSS < 200 MiB" },
  { key: "push", group: "registry", what: "ocidx push, 1 GiB", target: ">= 1.0x throughput; RSS < 200 MiB" },
  { key: "import", group: "archive", what: "ocidx import, 1 GiB", target: ">= 1.0x throughput; RSS < 200 MiB" },
  { key: "export", group: "archive", what: "ocidx export, 1 GiB", target: ">= 1.0x throughput; RSS < 200 MiB" },
  {
    key: "export-docker",
    group: "archive",
    what: "ocidx export --format docker, 1 GiB",
    target: ">= 1.0x throughput; RSS < 200 MiB"
  }
]

/** The consolidated rows: every row of headlineRows, measured, skipped (and why), or not run. */
export const consolidate = (reports, ran, failed) =>
  headlineRows.flatMap((expected) => {
    const measured = reports.flatMap((report) => (report.headline ?? []).filter((row) => row.key === expected.key))
    if (measured.length > 0) return measured
    const why = failed.includes(expected.group)
      ? `not measured: the ${expected.group} group failed`
      : ran.includes(expected.group)
        ? `not measured: the ${expected.group} group reported no such row`
        : `not measured: the ${expected.group} group was not run`
    return [{ key: expected.key, what: expected.what, ocidx: "-", peer: "-", target: expected.target, note: why }]
  })

const resultOf = (row) => (row.met === undefined ? (row.ocidx === "-" ? "SKIP" : "-") : row.met ? "met" : "NOT MET")

const ms = (value) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`)

/** A plain-text table: right-aligned columns except those in `leftAligned`. */
const textTable = (header, rows, leftAligned) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) =>
    cells
      .map((cell, i) => (leftAligned.includes(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join("  ")
      .trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

const headlineCells = (row) => [
  row.what,
  row.ocidx,
  row.peer,
  row.ratio === undefined ? "-" : row.ratio.toFixed(3),
  row.target,
  resultOf(row),
  row.rss ?? "-"
]
const headlineHeader = ["row", "ocidx", "peer", "ratio", "target", "result", "peak RSS (limit); peer's"]

/** The sections both outputs share, as plain text. */
const sections = (data) => {
  const { environment: env } = data
  const headline = [
    textTable(headlineHeader, data.headline.map(headlineCells), [0, 1, 2, 4, 5, 6]),
    "",
    ...data.headline.filter((row) => row.note !== undefined).map((row) => `  ${row.what}: ${row.note}`)
  ].join("\n")
  const targets = [
    textTable(
      ["target", "goal", "measured", "ratio", "limit", "result"],
      data.targets.map((row) => [
        row.id,
        row.target,
        row.measured,
        row.ratio === undefined ? "-" : `${row.ratio.toFixed(3)}`,
        row.limit === undefined ? "-" : `${Number(row.limit.toFixed(3))}`,
        row.pass === undefined ? "SKIP" : row.pass ? "PASS" : "MISS"
      ]),
      [0, 1, 2, 5]
    ),
    "",
    ...data.targets
      .filter((row) => row.note !== undefined || row.ratioOf !== undefined)
      .map((row) => `  ${row.id}: ${[row.ratioOf, row.note].filter(Boolean).join("; ")}`)
  ].join("\n")
  const measurements = textTable(
    ["group", "node", "measurement", "n", "median", "p90", "min", "note"],
    data.measurements.map((row) => [
      row.group,
      row.node ?? "",
      row.name,
      String(row.n),
      ms(row.medianMs),
      ms(row.p90Ms),
      ms(row.minMs),
      row.note ?? ""
    ]),
    [0, 1, 2, 7]
  )
  const scaling =
    data.scaling.length === 0
      ? "(no scaling series in this run)"
      : textTable(
          ["series", "size", "median", "growth from the previous size", "note"],
          data.scaling.map((row) => [
            row.series,
            `${row.x.toLocaleString("en-US")} ${row.unit}`,
            ms(row.medianMs),
            row.growth,
            row.note ?? ""
          ]),
          [0, 3, 4]
        )
  const loads = data.loads
    .map((l) => `${l.group} (node ${l.node}): ${l.before} -> ${l.after} (${l.seconds} s)`)
    .join("\n")
  const machine = [
    `${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB RAM, ${env.platform}, kernel ${env.kernel}`,
    `temp dir ${env.tmpdir}: ${env.diskFreeGiB} GiB free at start`
  ].join("\n")
  return { env, headline, targets, measurements, scaling, loads, machine }
}

const extraCaNote = (env) =>
  env.extraCaCerts
    ? "NODE_EXTRA_CA_CERTS was SET (it adds ~30 ms to every Node 20 start, ocidx's and `node -e 0`'s alike)"
    : "NODE_EXTRA_CA_CERTS was not set (when set, it adds ~30 ms to every Node 20 start)"

/** What bench/run.mjs prints without --json. */
export const textReport = (data) => {
  const s = sections(data)
  const env = s.env
  return [
    `ocidx bench - ${env.date}${env.quick ? ", --quick" : ""}; ${env.seconds} s in all`,
    `node running ocidx: ${env.nodes.join(", ")}; ${extraCaNote(env)}`,
    `ocidx: ${env.cli}`,
    ...(env.library.startsWith("packages/") ? [] : [`library: ${env.library}`]),
    `machine: ${s.machine.replace("\n", "; ")}`,
    `peers: ${data.peers.map((p) => `${p.name}: ${p.version}`).join("; ")}`,
    `load average ${env.loadAverage.start} at start, ${env.loadAverage.end} at end`,
    "",
    "ISSUE 14 TARGETS (ratio = ocidx time / peer time, lower is better; medians of the same run)",
    s.headline,
    "",
    "EARLIER TARGETS (issues 6, 11, 12)",
    s.targets,
    "",
    "MEASUREMENTS (wall time per repetition)",
    s.measurements,
    "",
    "SCALING",
    s.scaling,
    "",
    "load average per group (1 min, before -> after):",
    s.loads,
    ...(data.missing.length > 0 ? [`missing peers (their rows are skipped): ${data.missing.join(", ")}`] : []),
    ...(data.failed.length > 0 ? [`FAILED groups: ${data.failed.join(", ")}`] : []),
    ""
  ].join("\n")
}

const cell = (text) => String(text).replaceAll("|", "\\|")

/** bench/RESULTS.md: the template with every {{placeholder}} filled from the run's data. */
export const markdownReport = (data, template) => {
  const s = sections(data)
  const env = s.env
  const headlineMd = [
    `| ${headlineHeader.join(" | ")} |`,
    `|${headlineHeader.map(() => "---").join("|")}|`,
    ...data.headline.map((row) => `| ${headlineCells(row).map(cell).join(" | ")} |`),
    "",
    ...data.headline.filter((row) => row.note !== undefined).map((row) => `- ${row.what}: ${row.note}`)
  ].join("\n")
  const values = {
    command: env.command,
    date: env.date,
    seconds: String(env.seconds),
    quick: env.quick ? " (`--quick`: the 1 GiB copies move 128 MiB, blob put reads 128 MiB, no 2 GiB cases)" : "",
    node: env.nodes.join(", "),
    extraCaCerts: extraCaNote(env),
    cli: env.cli,
    library: env.library,
    machine: s.machine
      .split("\n")
      .map((line) => `- ${line}`)
      .join("\n"),
    peers: data.peers.map((p) => `- ${p.name}: ${p.version}`).join("\n"),
    loadStart: String(env.loadAverage.start),
    loadEnd: String(env.loadAverage.end),
    headline: headlineMd,
    targets: ["```", s.targets, "```"].join("\n"),
    measurements: ["```", s.measurements, "```"].join("\n"),
    scaling: ["```", s.scaling, "```"].join("\n"),
    loads: data.loads
      .map((l) => `- ${l.group} (node ${l.node}): ${l.before} -> ${l.after} (${l.seconds} s)`)
      .join("\n"),
    missing: data.missing.length === 0 ? "none" : data.missing.join(", "),
    failed: data.failed.length === 0 ? "none" : data.failed.join(", ")
  }
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name) => {
    if (!(name in values)) throw new Error(`bench/RESULTS.template.md: unknown placeholder ${whole}`)
    return values[name]
  })
}
