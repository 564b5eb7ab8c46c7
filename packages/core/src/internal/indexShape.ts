/**
 * Recognises the index.json that ocidx, buildkit and umoci write, so that reading it needs no scan in
 * JavaScript: compact JSON whose entries are descriptors with the known fields in Go's order, strings
 * without escapes and sizes that are short integers. One regular expression (compiled by V8 to native code)
 * matches each entry, where the reader's scan would run its loop for every key and value; in a process that
 * does one put, that loop runs in V8's interpreter and costs several times the parse itself.
 *
 * A text it recognises holds none of what the scan looks for: no whitespace outside strings, no duplicate
 * or `"__proto__"` key (the fields come in a fixed order, and each annotation key differs from those before
 * it), no number JSON.parse would change, no deep nesting. It then gives what the scan would give: where the
 * top-level members and the entries are. Anything else (another order, unknown fields, escapes, more than
 * four annotations) is not recognised, and the scan reads it. A property test holds the two to the same
 * result.
 * @internal
 */
import * as JsonReader from "./jsonReader.js"

// A JSON string without escapes; JSON.parse still refuses the raw control characters this lets through.
const string = String.raw`"[^"\\]*"`
const strings = String.raw`\[(?:${string}(?:,${string})*)?\]`
const size = "(?:0|[1-9][0-9]{0,14})"
// Annotation keys: none "__proto__", each unlike those before it (a back-reference to each).
const key = (before: number) => {
  const unlike = ["__proto__", ...Array.from({ length: before }, (_, k) => `\\${k + 1}`)].map((x) => `${x}"`)
  return String.raw`"((?!${unlike.join("|")})[^"\\]*)"`
}
const annotations = String.raw`\{(?:${key(0)}:${string}(?:,${key(1)}:${string}(?:,${key(2)}:${string}(?:,${key(3)}:${string})?)?)?)?\}`
const platform = String.raw`\{"architecture":${string},"os":${string}(?:,"os\.version":${string})?(?:,"os\.features":${strings})?(?:,"variant":${string})?(?:,"features":${strings})?\}`
// The fields of a descriptor in the order of Go's struct (ocidx writes the same order).
const entry = new RegExp(
  String.raw`\{"mediaType":${string},"digest":${string},"size":${size}(?:,"urls":${strings})?(?:,"annotations":${annotations})?(?:,"data":${string})?(?:,"platform":${platform})?(?:,"artifactType":${string})?\}`,
  "y"
)

const heads = [
  `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`,
  `{"schemaVersion":2,"manifests":[`
]

/** Where `key`'s value is in a head, which has it exactly once. */
const memberOf = (head: string, key: string, end: number): JsonReader.Member => {
  const start = head.indexOf(`"${key}":`) + key.length + 3
  return { key, start, end }
}

/**
 * The members and entries of `text` when it is an index.json of the shape above, or undefined.
 * @internal
 */
export const recognize = (text: string): Pick<JsonReader.JsonDocument, "members" | "elements"> | undefined => {
  const head = heads.find((candidate) => text.startsWith(candidate))
  if (head === undefined) return undefined
  let starts = new Int32Array(256)
  let ends = new Int32Array(256)
  let count = 0
  let at = head.length
  if (text.charCodeAt(at) !== 0x5d) {
    for (;;) {
      entry.lastIndex = at
      if (!entry.test(text)) return undefined
      if (count === starts.length) {
        starts = JsonReader.doubled(starts)
        ends = JsonReader.doubled(ends)
      }
      starts[count] = at
      at = entry.lastIndex
      ends[count] = at
      count++
      if (text.charCodeAt(at) !== 0x2c) break
      at++
    }
  }
  if (text.charCodeAt(at) !== 0x5d || text.charCodeAt(at + 1) !== 0x7d || at + 2 !== text.length) return undefined
  const open = head.length - 1
  const members: Array<JsonReader.Member> = [memberOf(head, "schemaVersion", '{"schemaVersion":2'.length)]
  if (head.includes('"mediaType"')) members.push(memberOf(head, "mediaType", head.indexOf(',"manifests"')))
  members.push({ key: "manifests", start: open, end: at + 1 })
  return { members, elements: { count, starts: starts.subarray(0, count), ends: ends.subarray(0, count) } }
}
