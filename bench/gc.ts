/**
 * `ocidx gc` as a whole process against `umoci gc` on the same layout, with the same garbage put back
 * (hard-linked) before every repetition: layouts of 1,000 and 10,000 small blobs, 10% of them garbage, each
 * image tagged once (the scaling series; the 10,000 one is the target), and a umoci-built image of two 8 MiB
 * layers under 100 tags with 1,000 garbage blobs. umoci reads and verifies an image's blobs again for every
 * tag that points at it (about 40 ms per tag here, so 10,000 tags would take minutes); ocidx reads each once.
 */
import * as NodePath from "node:path"
import { addGarbage, addTags, makeBlobLayout, makeImageLayout, umoci } from "./lib/fixtures.js"
import {
  environment,
  formatMs,
  headline,
  headlineSkipped,
  interleave,
  log,
  MiB,
  makeTempDir,
  median,
  removeDir,
  runGroup,
  skipped,
  summarize,
  target,
  workerTimes,
  ocidx,
  runOcidx
} from "./lib/support.js"

const rounds = 5

await runGroup("gc", async ({ headline: rows, measurements, missing, scaling, targets }) => {
  const cli = environment.cli
  if (cli === undefined) throw new Error("OCIDX_CLI is not set: run this through bench/run.mjs")
  if (umoci === undefined) missing.push("umoci")
  const workers = environment.benchWorkers
  if (workers === undefined) throw new Error("OCIDX_BENCH_WORKERS is not set: run this through bench/run.mjs")
  const layoutOp = NodePath.join(workers, "layout-op.mjs")
  const root = makeTempDir("ocidx-bench-gc-")
  try {
    /**
     * Checks that one ocidx gc removes exactly the garbage, then times both tools in alternation. `--grace 0`:
     * the garbage was written moments ago, and gc's default grace period (an hour) would keep all of it.
     */
    const compare = (dir: string, garbage: number, relink: () => void, label: string) => {
      relink()
      const report: unknown = JSON.parse(runOcidx("gc", dir, "--grace", "0", "--json").stdout)
      const removed =
        typeof report === "object" && report !== null && "removed" in report && Array.isArray(report.removed)
          ? report.removed.length
          : -1
      if (removed < garbage) throw new Error(`ocidx gc removed ${removed} blobs of ${dir}, expected ${garbage}`)
      const ours = { ...ocidx("gc", dir, "--grace", "0"), before: relink }
      const peer = umoci === undefined ? [] : [{ command: umoci, args: ["gc", "--layout", dir], before: relink }]
      const [gcTimes = [], umociTimes = []] = interleave(rounds, [ours, ...peer])
      measurements.push(summarize(`ocidx gc <${label}>`, gcTimes, `${garbage} blobs removed each time`))
      const library = summarize(
        `library Layout.gc <${label}>`,
        workerTimes(rounds, layoutOp, ["gc", dir], relink),
        "the operation alone: no process start-up"
      )
      measurements.push(library)
      if (umoci !== undefined) measurements.push(summarize(`umoci gc <${label}>`, umociTimes))
      return {
        ocidx: median(gcTimes),
        library: library.medianMs,
        umoci: umoci === undefined ? undefined : median(umociTimes)
      }
    }

    // --- 1,000 and 10,000 small blobs, 10% garbage (the target at 10,000) ----------------------------------
    for (const blobs of [1_000, 10_000]) {
      const layout = await makeBlobLayout(NodePath.join(root, `blobs-${blobs}`), blobs)
      log(`gc of ${layout.blobs} small blobs (${layout.garbage} garbage): ${rounds} rounds`)
      const label = `${blobs.toLocaleString("en-US")} small blobs, 10% garbage`
      const times = compare(layout.dir, layout.garbage, layout.relinkGarbage, label)
      scaling.push({ series: "ocidx gc (process)", x: blobs, unit: "blobs", medianMs: times.ocidx })
      scaling.push({ series: "Layout.gc (library, no start-up)", x: blobs, unit: "blobs", medianMs: times.library })
      if (times.umoci !== undefined) {
        scaling.push({ series: "umoci gc (process)", x: blobs, unit: "blobs", medianMs: times.umoci })
      }
      if (blobs === 10_000) {
        const what = `ocidx gc, ${layout.garbage.toLocaleString("en-US")} garbage of ${layout.blobs.toLocaleString("en-US")} small blobs`
        rows.push(
          times.umoci === undefined
            ? headlineSkipped("gc-10k", what, "<= 1.5x", "umoci is not installed")
            : headline({
                key: "gc-10k",
                what,
                ocidxMs: times.ocidx,
                peerName: "umoci gc",
                peerMs: times.umoci,
                target: "<= 1.5x",
                limit: 1.5,
                note: `the library alone ${formatMs(times.library)}`
              })
        )
      }
      if (blobs === 10_000 && times.umoci !== undefined) {
        targets.push(
          target({
            id: "gc, 10k small blobs",
            target: "<= umoci gc",
            measured: `${formatMs(times.ocidx)} vs ${formatMs(times.umoci)}`,
            ratio: times.ocidx / times.umoci,
            ratioOf: "ocidx gc / umoci gc",
            limit: 1
          })
        )
      }
      removeDir(layout.dir)
    }
    // --- an image under many tags and 1,000 garbage blobs --------------------------------------------------
    const image = NodePath.join(root, "image")
    const { builtBy, manifest } = makeImageLayout(image, { layers: 2, layerBytes: 8 * MiB })
    await addTags(image, manifest, 100, "tag")
    const { relink } = addGarbage(image, 1_000)
    log(`gc of an image with 100 tags and 1,000 garbage blobs (built by ${builtBy}): ${rounds} rounds`)
    const result = compare(image, 1_000, relink, "image of 2 x 8 MiB layers, 100 tags, 1k garbage")
    if (result.umoci === undefined) {
      targets.push(skipped("gc, one image under 100 tags", "<= umoci gc", "umoci is not installed"))
    } else {
      targets.push(
        target({
          id: "gc, one image under 100 tags",
          target: "<= umoci gc",
          measured: `${formatMs(result.ocidx)} vs ${formatMs(result.umoci)}`,
          ratio: result.ocidx / result.umoci,
          ratioOf: "ocidx gc / umoci gc",
          limit: 1,
          note: "umoci reads the image's 16 MiB of layers again for each of the 100 tags; ocidx once"
        })
      )
    }
  } finally {
    removeDir(root)
  }
})
