/**
 * `ocidx verify` as a whole process against sha256sum over every blob of the same layout (one process, and two
 * at once for reference): on a umoci-built image of 8 random 32 MiB layers with 10,000 tags (the target), and
 * on layouts of 1,000 and 10,000 small blobs (the scaling series). Rounds alternate the commands.
 */
import * as NodePath from "node:path"
import { addTags, type Command, hashAllCommands, makeBlobLayout, makeImageLayout } from "./lib/fixtures.js"
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
  syncDisks,
  target,
  workerTimes,
  ocidx,
  runOcidx
} from "./lib/support.js"

const rounds = 5

await runGroup("verify", async ({ headline: rows, measurements, missing, scaling, targets }) => {
  const cli = environment.cli
  if (cli === undefined) throw new Error("OCIDX_CLI is not set: run this through bench/run.mjs")
  const workers = environment.benchWorkers
  if (workers === undefined) throw new Error("OCIDX_BENCH_WORKERS is not set: run this through bench/run.mjs")
  const layoutOp = NodePath.join(workers, "layout-op.mjs")
  const root = makeTempDir("ocidx-bench-verify-")
  try {
    /** Times `ocidx verify` and the sha256sum commands in alternation; returns the medians. */
    const compare = (dir: string, label: string) => {
      const hashing = hashAllCommands(dir)
      const commands: Array<Command> = [ocidx("verify", dir)]
      if (hashing.single) commands.push(hashing.single)
      if (hashing.parallel) commands.push(hashing.parallel)
      syncDisks()
      const [verifyTimes = [], singleTimes = [], parallelTimes = []] = interleave(rounds, commands)
      measurements.push(summarize(`ocidx verify <${label}>`, verifyTimes))
      const library = summarize(
        `library Layout.verify <${label}>`,
        workerTimes(rounds, layoutOp, ["verify", dir]),
        "the operation alone: no process start-up"
      )
      measurements.push(library)
      if (hashing.single) measurements.push(summarize(`sha256sum, 1 process <${label}>`, singleTimes))
      if (hashing.parallel) measurements.push(summarize(`sha256sum, 2 processes <${label}>`, parallelTimes))
      return {
        verify: median(verifyTimes),
        library: library.medianMs,
        single: hashing.single ? median(singleTimes) : undefined,
        parallel: hashing.parallel ? median(parallelTimes) : undefined
      }
    }
    const verdict = (id: string, result: ReturnType<typeof compare>) => {
      if (result.single === undefined) {
        missing.push("sha256sum")
        return skipped(id, "<= sha256sum over all blobs", "sha256sum is not installed")
      }
      return target({
        id,
        target: "<= sha256sum over all blobs",
        measured: `${formatMs(result.verify)} vs ${formatMs(result.single)}`,
        ratio: result.verify / result.single,
        ratioOf: "ocidx verify / sha256sum",
        limit: 1,
        note:
          result.parallel === undefined
            ? undefined
            : `against 2 sha256sum processes at once (${formatMs(result.parallel)}): ratio ${(result.verify / result.parallel).toFixed(3)}`
      })
    }

    // --- the target: an image of 8 x 32 MiB layers with 10,000 tags -------------------------------------------
    const image = NodePath.join(root, "image")
    const { builtBy, manifest } = makeImageLayout(image, { layers: 8, layerBytes: 32 * MiB })
    await addTags(image, manifest, 10_000, "tag")
    runOcidx("verify", image)
    log(`verify of a 256 MiB image with 10,000 tags (built by ${builtBy}): ${rounds} rounds`)
    targets.push(verdict("verify, 256 MiB image + 10k tags", compare(image, "256 MiB image, 10k tags")))
    removeDir(image)

    // --- scaling: 1,000 and 10,000 small blobs -----------------------------------------------------------------
    for (const blobs of [1_000, 10_000]) {
      const dir = NodePath.join(root, `blobs-${blobs}`)
      const layout = await makeBlobLayout(dir, blobs)
      log(`verify of ${layout.blobs} small blobs (${layout.garbage} unreferenced): ${rounds} rounds`)
      const label = `${blobs.toLocaleString("en-US")} small blobs`
      const result = compare(dir, label)
      scaling.push({ series: "ocidx verify (process)", x: blobs, unit: "blobs", medianMs: result.verify })
      scaling.push({
        series: "Layout.verify (library, no start-up)",
        x: blobs,
        unit: "blobs",
        medianMs: result.library
      })
      if (result.single !== undefined) {
        scaling.push({
          series: "sha256sum over the blobs, 1 process",
          x: blobs,
          unit: "blobs",
          medianMs: result.single
        })
      }
      if (blobs === 10_000) {
        targets.push(verdict("verify, 10k small blobs", result))
        const what = `ocidx verify, ${layout.blobs.toLocaleString("en-US")} small blobs`
        rows.push(
          result.single === undefined
            ? headlineSkipped("verify-10k", what, "<= 1.5x", "sha256sum is not installed")
            : headline({
                key: "verify-10k",
                what,
                ocidxMs: result.verify,
                peerName: "sha256sum",
                peerMs: result.single,
                target: "<= 1.5x",
                limit: 1.5,
                note: `sha256sum over the same files, 1 process; the library alone ${formatMs(result.library)}`
              })
        )
      }
      removeDir(dir)
    }
  } finally {
    removeDir(root)
  }
})
