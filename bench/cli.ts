/**
 * The `ocidx` command as whole processes: start-up (`--version`, `ls` of a small layout) against `node -e 0`,
 * and `ocidx put` into a 10,000-tag layout against `umoci tag` on the same layout (index.json restored before
 * each repetition, outside the timing). The commands alternate within each round, so load hits them alike.
 */
import * as NodePath from "node:path"
import { addTags, makeImageLayout, snapshotFile, umoci } from "./lib/fixtures.js"
import {
  environment,
  formatMs,
  headline,
  headlineSkipped,
  interleave,
  log,
  makeTempDir,
  median,
  removeDir,
  runGroup,
  skipped,
  summarize,
  target,
  ocidx,
  runOcidx
} from "./lib/support.js"

const startupRounds = 20
const putRounds = 15
const tags = 10_000

await runGroup("cli", async ({ headline: rows, measurements, missing, targets }) => {
  const cli = environment.cli
  if (cli === undefined) throw new Error("OCIDX_CLI is not set: run this through bench/run.mjs")
  const node = process.execPath
  const workers = environment.benchWorkers
  if (workers === undefined) throw new Error("OCIDX_BENCH_WORKERS is not set: run this through bench/run.mjs")
  const root = makeTempDir("ocidx-bench-cli-")
  try {
    // --- start-up ---------------------------------------------------------------------------------------------
    const small = NodePath.join(root, "small")
    makeImageLayout(small, { layers: 1, layerBytes: 64 * 1024 })
    log(`start-up: ${startupRounds} rounds of node -e 0, ocidx --version, ocidx ls, and the floors under ocidx ls`)
    const floorEffect = NodePath.join(workers, "floor-effect.mjs")
    const libraryOnce = NodePath.join(workers, "library-once.mjs")
    const [nodeTimes = [], versionTimes = [], lsTimes = [], effectTimes = [], schemaTimes = [], listTimes = []] =
      interleave(
        startupRounds,
        [
          { command: node, args: ["-e", "0"] },
          ocidx("--version"),
          ocidx("ls", small),
          { command: node, args: [floorEffect] },
          { command: node, args: [floorEffect, "schema"] },
          { command: node, args: [libraryOnce, "list", small] }
        ],
        2
      )
    const nodeName = `node ${process.version}`
    measurements.push(
      summarize(`node -e 0 (${nodeName})`, nodeTimes),
      summarize(`ocidx --version (${nodeName})`, versionTimes),
      summarize(`ocidx ls <small layout> (${nodeName})`, lsTimes),
      summarize(`floor: one Effect run (${nodeName})`, effectTimes),
      summarize(`floor: one Effect + one Schema decode (${nodeName})`, schemaTimes),
      summarize(`floor: the library's StoreIndex list alone <small layout> (${nodeName})`, listTimes)
    )
    const nodeMs = median(nodeTimes)
    const times = (ms: number) => `${formatMs(ms)} (${(ms / nodeMs).toFixed(2)}x)`
    const floors = `floors in the same rounds: a process that runs one Effect ${times(median(effectTimes))}, one Effect and one Schema decode ${times(median(schemaTimes))}, the library's StoreIndex list with no CLI ${times(median(listTimes))}`
    rows.push(
      headline({
        key: "ls",
        what: `ocidx ls, small layout (${nodeName})`,
        ocidxMs: median(lsTimes),
        peerName: "node -e 0",
        peerMs: nodeMs,
        target: "<= 2.0x",
        limit: 2,
        note: `${process.env.NODE_EXTRA_CA_CERTS === undefined ? "NODE_EXTRA_CA_CERTS not set" : "NODE_EXTRA_CA_CERTS set (adds ~30 ms to a Node 20 start, to both sides)"}; medians of ${startupRounds} alternating rounds; ${floors}`
      })
    )
    if (environment.startupOnly) return
    for (const [id, times] of [
      ["ocidx --version", versionTimes],
      ["ocidx ls (small layout)", lsTimes]
    ] as const) {
      const ms = median(times)
      targets.push(
        target({
          id,
          target: "<= 1.5x node -e 0",
          measured: `${formatMs(ms)} vs ${formatMs(nodeMs)}`,
          ratio: ms / nodeMs,
          ratioOf: "ocidx / node -e 0",
          limit: 1.5
        })
      )
    }
    if (umoci !== undefined) {
      const [umociLs = []] = interleave(startupRounds, [{ command: umoci, args: ["ls", "--layout", small] }], 2)
      measurements.push(summarize("umoci ls <small layout> (for reference)", umociLs))
    }

    // --- put into a layout holding only the image's own tag ("0 tags") --------------------------------------------
    const empty = NodePath.join(root, "empty")
    const emptyImage = makeImageLayout(empty, { layers: 1, layerBytes: 64 * 1024 })
    const emptyIndex = snapshotFile(NodePath.join(empty, "index.json"))
    const emptyPut = {
      ...ocidx(
        "put",
        empty,
        "bench-new",
        "--digest",
        emptyImage.manifest.digest,
        "--size",
        String(emptyImage.manifest.size)
      ),
      before: emptyIndex.restore
    }
    const put0What = "ocidx put, 0 tags (a layout holding only the source tag)"
    if (umoci === undefined) {
      rows.push(headlineSkipped("put-0", put0What, "none (reported)", "umoci is not installed"))
    } else {
      log(`put into a 1-tag layout: ${putRounds} rounds of ocidx put and umoci tag`)
      const [put0 = [], tag0 = []] = interleave(putRounds, [
        emptyPut,
        { command: umoci, args: ["tag", "--image", `${empty}:base`, "bench-new"], before: emptyIndex.restore }
      ])
      measurements.push(
        summarize("ocidx put <1 tag> (process, fsync)", put0),
        summarize("umoci tag <1 tag> (process, no fsync)", tag0)
      )
      rows.push(
        headline({
          key: "put-0",
          what: put0What,
          ocidxMs: median(put0),
          peerName: "umoci tag",
          peerMs: median(tag0),
          target: "none (reported)",
          note: `ocidx fsyncs, umoci tag does not; start-up is the floor: node -e 0 alone takes ${formatMs(nodeMs)} (${(nodeMs / median(tag0)).toFixed(2)}x umoci tag)`
        })
      )
    }

    // --- put into a 10,000-tag layout -------------------------------------------------------------------------
    const big = NodePath.join(root, "tags")
    const { builtBy, manifest } = makeImageLayout(big, { layers: 1, layerBytes: 64 * 1024 })
    await addTags(big, manifest, tags, "tag")
    const index = snapshotFile(NodePath.join(big, "index.json"))
    const putArgs = ["put", big, "bench-new", "--digest", manifest.digest, "--size", String(manifest.size)]
    const put = { ...ocidx(...putArgs), before: index.restore }
    const ls = { ...ocidx("ls", big, "--json"), before: index.restore }
    if (umoci === undefined) {
      missing.push("umoci")
      const [putTimes = [], lsBig = []] = interleave(putRounds, [put, ls])
      measurements.push(
        summarize(`ocidx put <${tags} tags> (process)`, putTimes, `layout built by ${builtBy}`),
        summarize(`ocidx ls --json <${tags} tags>`, lsBig)
      )
      targets.push(skipped("ocidx put process, 10k tags", "faster than umoci tag", "umoci is not installed"))
      rows.push(
        headlineSkipped("put-10k", "ocidx put, 10,000 tags, whole process", "<= 1.0x", "umoci is not installed")
      )
      return
    }
    log(`put: ${putRounds} rounds of ocidx put and umoci tag on a ${tags}-tag layout`)
    const tag = { command: umoci, args: ["tag", "--image", `${big}:base`, "bench-new"], before: index.restore }
    const umociLs = { command: umoci, args: ["ls", "--layout", big], before: index.restore }
    const libraryPut = {
      command: node,
      args: [libraryOnce, "put", big, "bench-new", manifest.digest, String(manifest.size)],
      before: index.restore
    }
    const [putTimes = [], tagTimes = [], lsBig = [], umociLsBig = [], libraryPutTimes = []] = interleave(putRounds, [
      put,
      tag,
      ls,
      umociLs,
      libraryPut
    ])
    index.restore()
    runOcidx(...putArgs)
    runOcidx("get", big, "bench-new")
    measurements.push(
      summarize(`ocidx put <${tags} tags> (process, fsync)`, putTimes),
      summarize(`umoci tag <${tags} tags> (process, no fsync)`, tagTimes),
      summarize(`ocidx ls --json <${tags} tags>`, lsBig),
      summarize(`umoci ls <${tags} tags>`, umociLsBig),
      summarize(`floor: the library's StoreIndex put alone <${tags} tags> (process, fsync)`, libraryPutTimes)
    )
    const putMs = median(putTimes)
    const tagMs = median(tagTimes)
    rows.push(
      headline({
        key: "put-10k",
        what: "ocidx put, 10,000 tags, whole process",
        ocidxMs: putMs,
        peerName: "umoci tag",
        peerMs: tagMs,
        target: "<= 1.0x",
        limit: 1,
        note: `ocidx fsyncs index.json and the directory, umoci tag does not; floors: node -e 0 alone takes ${formatMs(nodeMs)} (${(nodeMs / tagMs).toFixed(2)}x umoci tag), a process doing the library's put with no CLI ${formatMs(median(libraryPutTimes))} (${(median(libraryPutTimes) / tagMs).toFixed(2)}x)`
      })
    )
    targets.push(
      target({
        id: "ocidx put process, 10k tags",
        target: "faster than umoci tag",
        measured: `${formatMs(putMs)} vs ${formatMs(tagMs)}`,
        ratio: putMs / tagMs,
        ratioOf: "ocidx put / umoci tag",
        limit: 1,
        strict: true,
        note: "ocidx fsyncs index.json and the directory; umoci tag does not fsync"
      })
    )
  } finally {
    removeDir(root)
  }
})
