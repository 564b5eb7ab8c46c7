/**
 * A child process that reads index.json WITHOUT any lock, over and over, while others rewrite it: every read
 * must parse as JSON, and every distinct content must decode as an ImageIndex. It shows the atomic rename.
 *
 *   --index <index.json> --reads <n> [--min-changes <c>] [--max-ms <t>]
 *
 * Reads at least n times, and goes on until it has seen the content change c times (or t ms have passed).
 *
 * Output: one JSON line `{"type":"done","reads","changes","decodes","parseErrors","decodeErrors","missing",
 * "empty","samples"}`.
 */
import * as NodeFs from "node:fs"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { intArg, parseArgs, requireArg, writeJson } from "./common.js"

const args = parseArgs(process.argv.slice(2))
const indexPath = requireArg(args, "index")
const minReads = intArg(args, "reads", 5000)
const minChanges = intArg(args, "min-changes", 0)
const deadline = performance.now() + intArg(args, "max-ms", 60_000)

const decode = Schema.decodeUnknownEither(ImageIndex.ImageIndex)

let changes = 0
let decodes = 0
let parseErrors = 0
let decodeErrors = 0
let missing = 0
let empty = 0
let previous = ""
const samples: Array<string> = []
const sample = (what: string) => {
  if (samples.length < 5) samples.push(what.slice(0, 300))
}

let reads = 0
while (reads < minReads || (changes < minChanges && performance.now() < deadline)) {
  reads++
  let content: string
  try {
    content = NodeFs.readFileSync(indexPath, "utf8")
  } catch (error) {
    missing++
    sample(`read: ${error instanceof Error ? error.message : String(error)}`)
    continue
  }
  if (content.length === 0) {
    empty++
    sample("empty")
    continue
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(content)
  } catch (error) {
    parseErrors++
    sample(`parse: ${error instanceof Error ? error.message : String(error)}: ${content}`)
    continue
  }
  if (content !== previous) {
    // The same bytes decode the same way: decoding each distinct content once keeps the loop fast.
    changes++
    decodes++
    if (Either.isLeft(decode(parsed))) {
      decodeErrors++
      sample(`decode: ${content}`)
    }
    previous = content
  }
}
writeJson({ type: "done", reads, changes, decodes, parseErrors, decodeErrors, missing, empty, samples })
