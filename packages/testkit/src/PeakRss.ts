/**
 * Peak resident memory of a child process, for the tests that prove a command streams: VmHWM from
 * /proc/<pid>/status, sampled every 50 ms until the child exits. Linux only (`available` says whether /proc is).
 */
import * as NodeFs from "node:fs"
import { Effect } from "effect"
import type { Child, RunResult } from "./Processes.js"

/** Whether this machine has /proc to read a child's peak RSS from. */
export const available: boolean = NodeFs.existsSync("/proc/self/status")

/** The child's result once it has exited, and the highest VmHWM seen while it ran, in MiB. */
export const sample = (child: Child): Effect.Effect<RunResult & { readonly peakMiB: number }> =>
  Effect.gen(function* () {
    let peak = 0
    while (!(yield* child.hasExited)) {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(NodeFs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (match?.[1] !== undefined) peak = Math.max(peak, Number(match[1]) / 1024)
      } catch {
        // Exited between the check and the read.
      }
      yield* Effect.sleep("50 millis")
    }
    const result = yield* child.result
    return { ...result, peakMiB: peak }
  })

/**
 * How much more than `baseline` (a run of the same program on the same node that moves no data, such as an
 * `ls`) a command that streams may peak at while it moves an image of 256 MiB: a copy that held the layer
 * whole would need more than the layer. The absolute target (RSS under 200 MiB for 1 GiB) is the bench's:
 * the baseline alone differs by 25-30 MiB between Node 20 and Node 24, and V8 frees used buffers only once
 * some 64 MiB of them have piled up, so an absolute limit in a test measures the node as much as ocidx.
 */
export const streamingBudgetMiB = 160
