/**
 * Large blobs: `ocidx blob put` of a 1 GiB random file against sha256sum of the same file (throughput), and the
 * peak RSS of `ocidx blob put` of a 2 GiB file and of `ocidx verify` of a layout holding it. The library's own
 * put (bench/workers/blob-put.ts, fed as the CLI feeds it) is measured beside the CLI. Every put starts from a
 * layout without the blob and flushed disks. --quick replaces the 1 GiB file by 128 MiB and skips 2 GiB.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { blobFiles, layerMediaType, sha256sum, tagEach, writeImage, writeRandomFile } from "./lib/fixtures.js"
import {
  environment,
  formatBytes,
  formatMs,
  GiB,
  headline,
  headlineSkipped,
  interleave,
  log,
  MiB,
  makeTempDir,
  median,
  mibPerSecond,
  peakRss,
  removeDir,
  runChecked,
  runGroup,
  skipped,
  summarize,
  syncDisks,
  target,
  ocidx,
  runOcidx
} from "./lib/support.js"

const rounds = 3
const rssLimit = 150 * MiB

await runGroup("blobs", async ({ headline: rows, measurements, missing, targets }) => {
  const cli = environment.cli
  const workers = environment.benchWorkers
  if (cli === undefined || workers === undefined) throw new Error("run this through bench/run.mjs")
  const node = process.execPath
  const libraryPut = NodePath.join(workers, "blob-put.mjs")
  const root = makeTempDir("ocidx-bench-blobs-")
  try {
    const layout = NodePath.join(root, "layout")
    runOcidx("init", layout)
    const clearBlobs = () => {
      for (const file of blobFiles(layout)) NodeFs.rmSync(file)
      syncDisks()
    }

    // --- throughput: 1 GiB ---------------------------------------------------------------------------------------
    const size = environment.quick ? 128 * MiB : GiB
    const file = NodePath.join(root, "random.bin")
    writeRandomFile(file, size)
    syncDisks()
    log(`blob put of ${formatBytes(size)}: ${rounds} rounds of sha256sum, ocidx blob put, library put`)
    const commands = [
      { ...ocidx("blob", "put", layout, file), before: clearBlobs },
      { command: node, args: [libraryPut, layout, file], before: clearBlobs }
    ]
    const [cliTimes = [], libraryTimes = [], shaTimes = []] = interleave(
      rounds,
      sha256sum === undefined ? commands : [...commands, { command: sha256sum, args: [file] }],
      0
    )
    const rate = (times: ReadonlyArray<number>) => `${mibPerSecond(size, median(times)).toFixed(0)} MiB/s`
    measurements.push(
      summarize(`ocidx blob put ${formatBytes(size)} (process, fsync)`, cliTimes, rate(cliTimes)),
      summarize(`library BlobStore.putFile ${formatBytes(size)} (process, fsync)`, libraryTimes, rate(libraryTimes))
    )
    NodeFs.rmSync(file)
    clearBlobs()

    // --- issue 14: peak RSS of a 512 MiB put, and the throughput above against sha256sum ------------------------
    const rssFile = NodePath.join(root, "random-512m.bin")
    writeRandomFile(rssFile, 512 * MiB)
    syncDisks()
    log("peak RSS of ocidx blob put of 512 MiB")
    const rssCommand = ocidx("blob", "put", layout, rssFile)
    const rss512 = peakRss(rssCommand.command, rssCommand.args)
    NodeFs.rmSync(rssFile)
    clearBlobs()
    measurements.push(
      summarize("ocidx blob put 512 MiB (process, fsync)", [rss512.ms], `peak RSS ${formatBytes(rss512.rssBytes)}`)
    )
    const blobWhat = `ocidx blob put, ${formatBytes(size)} (throughput); 512 MiB (peak RSS)`
    rows.push(
      sha256sum === undefined
        ? headlineSkipped("blob-put", blobWhat, ">= 1.0x throughput (time <= 1.0x); RSS < 96 MiB", "no sha256sum")
        : headline({
            key: "blob-put",
            what: blobWhat,
            ocidxMs: median(cliTimes),
            peerName: "sha256sum",
            peerMs: median(shaTimes),
            bytes: size,
            target: ">= 1.0x throughput (time <= 1.0x); RSS < 96 MiB",
            limit: 1,
            rssBytes: rss512.rssBytes,
            rssLimit: 96 * MiB,
            note: `ocidx reads, hashes, writes and fsyncs; sha256sum only reads and hashes; RSS via ${rss512.via}`
          })
    )
    const putId = "blob put 1 GiB throughput"
    const putGoal = ">= 0.9x sha256sum's"
    if (sha256sum === undefined) {
      missing.push("sha256sum")
      targets.push(skipped(putId, putGoal, "sha256sum is not installed"))
    } else {
      measurements.push(summarize(`sha256sum ${formatBytes(size)}`, shaTimes, rate(shaTimes)))
      const ratio = median(cliTimes) / median(shaTimes)
      if (environment.quick) targets.push(skipped(putId, putGoal, `--quick (measured on ${formatBytes(size)} only)`))
      else {
        targets.push(
          target({
            id: putId,
            target: putGoal,
            measured: `${rate(cliTimes)} vs ${rate(shaTimes)} (${(1 / ratio).toFixed(2)}x)`,
            ratio,
            ratioOf: "time of ocidx blob put / time of sha256sum (throughput >= 0.9x <=> ratio <= 1.111)",
            limit: 1 / 0.9,
            note: "ocidx reads, hashes, writes and fsyncs the copy; sha256sum only reads and hashes"
          })
        )
      }
    }

    // --- peak RSS: 2 GiB ----------------------------------------------------------------------------------------
    if (environment.quick) {
      targets.push(skipped("peak RSS, blob put 2 GiB", "< 150 MiB", "--quick"))
      targets.push(skipped("peak RSS, verify 2 GiB blob", "< 150 MiB", "--quick"))
      return
    }
    const big = NodePath.join(root, "random-2g.bin")
    writeRandomFile(big, 2 * GiB)
    syncDisks()
    log("peak RSS of the library's put of 2 GiB")
    const library = peakRss(node, [libraryPut, layout, big])
    clearBlobs()
    log("peak RSS of ocidx blob put of 2 GiB")
    const putCommand = ocidx("blob", "put", layout, big)
    const put = peakRss(putCommand.command, putCommand.args)
    NodeFs.rmSync(big)
    const descriptor: unknown = JSON.parse(put.stdout)
    if (typeof descriptor !== "object" || descriptor === null || !("digest" in descriptor) || !("size" in descriptor)) {
      throw new Error(`ocidx blob put printed ${put.stdout}`)
    }
    const layer = { mediaType: layerMediaType, digest: String(descriptor.digest), size: Number(descriptor.size) }
    await tagEach(layout, [writeImage(layout, [layer])], "big")
    syncDisks()
    log("peak RSS of ocidx verify of the layout holding it")
    const verifyCommand = ocidx("verify", layout)
    const verify = peakRss(verifyCommand.command, verifyCommand.args)
    measurements.push(
      summarize(
        "library BlobStore.putFile 2 GiB (process, fsync)",
        [library.ms],
        `peak RSS ${formatBytes(library.rssBytes)}`
      ),
      summarize("ocidx blob put 2 GiB (process, fsync)", [put.ms], `peak RSS ${formatBytes(put.rssBytes)}`),
      summarize("ocidx verify <2 GiB blob>", [verify.ms], `peak RSS ${formatBytes(verify.rssBytes)}`)
    )
    if (sha256sum !== undefined) {
      const files = blobFiles(layout)
      const sha = runChecked(sha256sum, files, { stdout: "ignore" })
      measurements.push(summarize("sha256sum <2 GiB blob layout>", [sha.ms]))
    }
    for (const [id, run] of [
      ["peak RSS, blob put 2 GiB", put],
      ["peak RSS, verify 2 GiB blob", verify]
    ] as const) {
      targets.push(
        target({
          id,
          target: "< 150 MiB",
          measured: `${formatBytes(run.rssBytes)} (${formatMs(run.ms)})`,
          ratio: run.rssBytes / rssLimit,
          ratioOf: `peak RSS / 150 MiB, via ${run.via}`,
          limit: 1,
          strict: true
        })
      )
    }
  } finally {
    removeDir(root)
  }
})
