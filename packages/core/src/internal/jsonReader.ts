/**
 * The one reader for every JSON document ocidx parses: index.json, oci-layout, manifests, nested indexes and
 * descriptors given as input. Before `JSON.parse` sees a byte it checks, in one linear scan, what JSON.parse
 * would get wrong or die of: a size cap, a depth limit (deep input overflows every recursive step after the
 * parse: Schema, JSON.stringify), duplicate keys (JSON.parse silently keeps the last), `"__proto__"` keys,
 * and numbers whose value JSON.parse does not keep (`1e400`, `12345678901234567890`). The same scan records
 * where each top-level member and each entry of `manifests` is in the text, so the index codec can write
 * what a change does not touch back from its source text instead of from the lossy parsed value. A caller may
 * pass a recogniser for texts of a shape that holds none of those hazards (index.json as ocidx writes it:
 * see indexShape.ts); a text it recognises is parsed without the scan.
 * @internal
 */
import * as Either from "effect/Either"
import { DecodeError, DecodeIssue } from "../Errors.js"
import type { DuplicateKey } from "./jsonDuplicateKeys.js"

/**
 * The most bytes ocidx reads as one JSON document other than index.json: what registries accept as a
 * manifest (distribution's and containerd's 4 MiB), so a layout ocidx reads can be pushed, and a 1 GiB blob
 * named as a manifest is refused before it is read.
 * @internal
 */
export const maxDocumentBytes = 4 * 1024 * 1024

/**
 * The most bytes of index.json ocidx reads: about 500,000 entries. index.json is the layout's own file, not
 * content a registry holds, so it may be far larger than a manifest; the cap keeps a runaway file from
 * exhausting memory (parsing takes several times its size).
 * @internal
 */
export const maxIndexBytes = 128 * 1024 * 1024

/**
 * How deeply arrays and objects may nest. OCI documents are shallow (an index entry's platform features sit
 * at depth 5); 64 leaves room for any annotation-like extension and stays far from any stack limit.
 * @internal
 */
export const maxDepth = 64

/** Where a value is in the text: `text.slice(start, end)` is its JSON. @internal */
export interface Span {
  readonly start: number
  readonly end: number
}

/** A top-level member of the document's root object. @internal */
export interface Member extends Span {
  readonly key: string
}

/**
 * Where the elements of an array are: element `k` is `text.slice(starts[k], ends[k])`. Two arrays of offsets
 * rather than an object per element: an index.json may have 100k entries, read by a process that does nothing
 * else.
 * @internal
 */
export interface Elements {
  readonly count: number
  readonly starts: Int32Array
  readonly ends: Int32Array
}

/** A parsed document and where its parts are in the text. @internal */
export interface JsonDocument {
  /** The text parsed: the bytes decoded as UTF-8, a byte-order mark dropped. */
  readonly text: string
  readonly value: unknown
  /** The root object's members, in order (none when the root is not an object). */
  readonly members: ReadonlyArray<Member>
  /** The elements of the root object's `manifests` array, in order (none when it is not an array). */
  readonly elements: Elements
  /** Whether the text has no whitespace outside strings, so its spans are already compact JSON. */
  readonly compact: boolean
  /** With `duplicateKeys: "allow"`, every repeated key, in text order (as `jsonDuplicateKeys` finds them). */
  readonly duplicates: ReadonlyArray<DuplicateKey>
}

/** @internal */
export interface ReadOptions {
  /** The size cap; `maxDocumentBytes` unless given. */
  readonly maxBytes?: number | undefined
  /**
   * `"allow"` only for a caller that reports duplicate keys itself (verify): the document lists them, found by
   * the same scan, instead of being refused. Every other reader refuses them.
   */
  readonly duplicateKeys?: "refuse" | "allow" | undefined
  /**
   * Refuse numbers whose value JSON.parse does not keep. For input that ocidx writes from its parsed value (a
   * descriptor given to put); index.json keeps such numbers by writing their source text back.
   */
  readonly exactNumbers?: boolean | undefined
  /**
   * Recognises texts of a known shape, whose members and `manifests` elements it then gives in place of the
   * scan's. It must recognise only a compact text holding nothing the scan refuses or notes (duplicate or
   * `"__proto__"` keys, deep nesting, numbers JSON.parse changes), and give the spans the scan would.
   */
  readonly recognize?: ((text: string) => Pick<JsonDocument, "members" | "elements"> | undefined) | undefined
  /**
   * `false` for a caller that uses only the value and the duplicates: a text JSON.parse accepts and `isPlain`
   * finds free of every hazard is then not scanned, and its document has no members or elements (and is not
   * called compact). Any other text is scanned as always.
   */
  readonly spans?: boolean | undefined
}

const failure = (path: string, reason: DecodeError["reason"], message: string, at: ReadonlyArray<string | number>) =>
  new DecodeError({ path, reason, detail: message, issues: [new DecodeIssue({ path: at, message })] })

/** @internal */
export const tooLarge = (path: string, size: number, maxBytes: number, what = "the file"): DecodeError =>
  failure(
    path,
    "too-large",
    `${what} is over the ${formatBytes(maxBytes)} ocidx reads as one JSON document (at least ${size} bytes); it was not read`,
    []
  )

const formatBytes = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`

// ---------------------------------------------------------------------------------------------------------
// numbers
// ---------------------------------------------------------------------------------------------------------

/** A JSON number's decimal value in one canonical spelling: sign, significant digits, exponent. */
const canonical = (token: string): string => {
  let rest = token
  let sign = ""
  if (rest.startsWith("-")) {
    sign = "-"
    rest = rest.slice(1)
  }
  let exponent = 0
  const e = rest.search(/[eE]/)
  if (e >= 0) {
    exponent = Number(rest.slice(e + 1))
    rest = rest.slice(0, e)
  }
  const dot = rest.indexOf(".")
  if (dot >= 0) {
    exponent -= rest.length - dot - 1
    rest = rest.slice(0, dot) + rest.slice(dot + 1)
  }
  const digits = rest.replace(/^0+/, "")
  if (digits === "") return "0"
  const significant = digits.replace(/0+$/, "")
  return `${sign}${significant}e${exponent + digits.length - significant.length}`
}

/**
 * Whether JSON.parse keeps this number token's value exactly: written back from the parsed value, it is the
 * same decimal number (`1.50` is, `1e400` and `12345678901234567890` are not).
 * @internal
 */
export const isExactNumber = (token: string): boolean => {
  const value = Number(token)
  return Number.isFinite(value) && canonical(token) === canonical(String(value))
}

// ---------------------------------------------------------------------------------------------------------
// the scan
// ---------------------------------------------------------------------------------------------------------

type Problem =
  | { readonly kind: "syntax" }
  | { readonly kind: "too-deep" }
  | { readonly kind: "duplicate-key"; readonly path: ReadonlyArray<string | number> }
  | { readonly kind: "proto"; readonly path: ReadonlyArray<string | number> }

interface Scanned {
  readonly members: ReadonlyArray<Member>
  readonly elements: Elements
  readonly compact: boolean
  readonly inexact: { readonly path: ReadonlyArray<string | number>; readonly token: string } | undefined
  readonly duplicates: ReadonlyArray<DuplicateKey>
}

const OBJECT = 1
const ARRAY = 2
// Above this many keys an object's duplicate check uses a Set; below, a linear look costs less.
const linearKeys = 12

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09

/** The index just past the string that starts at `at` (a `"`) in `text`, or -1 when it never ends. */
const stringEnd = (text: string, at: number): number => {
  let j = text.indexOf('"', at + 1)
  while (j > 0) {
    let backslashes = 0
    while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return j + 1
    j = text.indexOf('"', j + 1)
  }
  return -1
}

const isNumberChar = (code: number): boolean =>
  (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2b || code === 0x2e || code === 0x65 || code === 0x45

/** The scan's frames, one per level open at once (the document's own value is level 1). */
const frames = maxDepth + 2
const slots = linearKeys + 1

/**
 * The scan's stacks, allocated once, not per document: a dozen typed arrays cost more than the scan of a small
 * manifest. One scan at a time can use them: it runs to its end without yielding or calling out, and each
 * frame is set up as it is entered before anything reads it.
 */
const stacks = {
  kinds: new Uint8Array(frames),
  counts: new Int32Array(frames),
  // The key each open object is reading now, as a range of the text (a string only when it has escapes).
  keyStarts: new Int32Array(frames),
  keyEnds: new Int32Array(frames),
  keyTexts: new Array<string | undefined>(frames).fill(undefined),
  // The keys an open object has had: ranges of the text for a few plain keys (no string is made for them),
  // a Set of strings once there are many or one has escapes.
  slotStarts: new Int32Array(frames * slots),
  slotEnds: new Int32Array(frames * slots),
  slotCounts: new Int32Array(frames),
  keySets: new Array<Set<string> | undefined>(frames).fill(undefined)
}

/**
 * `offsets` in an array twice as long: where the entries of a document begin and end is kept in typed arrays
 * that grow as it is read.
 * @internal
 */
export const doubled = (offsets: Int32Array): Int32Array<ArrayBuffer> => {
  const more = new Int32Array(offsets.length * 2)
  more.set(offsets)
  return more
}

/**
 * One pass over the text with an explicit stack of at most `maxDepth` frames. It trusts JSON.parse for the
 * grammar: on text that is not JSON it stops with "syntax" and the parser names the error.
 */
const scan = (text: string, duplicateKeys: "refuse" | "allow"): Problem | Scanned => {
  try {
    return scanWith(text, duplicateKeys)
  } finally {
    // What a scan that stopped early left open would keep alive: its keys are slices of the whole text.
    stacks.keyTexts.fill(undefined)
    stacks.keySets.fill(undefined)
  }
}

const scanWith = (text: string, duplicateKeys: "refuse" | "allow"): Problem | Scanned => {
  const depthLimit = maxDepth
  const n = text.length
  const { kinds, counts, keyStarts, keyEnds, keyTexts, slotStarts, slotEnds, slotCounts, keySets } = stacks
  const members: Array<Member> = []
  let starts = new Int32Array(256)
  let ends = new Int32Array(256)
  let elementCount = 0
  const duplicates: Array<DuplicateKey> = []
  let depth = 0
  let i = 0
  let compact = true
  let inexact: Scanned["inexact"]
  let memberKey = ""
  let memberStart = -1
  let inManifests = false
  let elementStart = -1

  const keyAt = (d: number): string => keyTexts[d] ?? text.slice(keyStarts[d] ?? 0, keyEnds[d] ?? 0)

  const sameRange = (a: number, b: number, length: number): boolean => {
    for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false
    return true
  }

  /** The path to the value the container at `to` is reading now (its key or index), from the root. */
  const pathTo = (to: number): Array<string | number> => {
    const path: Array<string | number> = []
    for (let d = 1; d <= to; d++) path.push(kinds[d] === OBJECT ? keyAt(d) : (counts[d] ?? 0))
    return path
  }

  // Called before every key and value; a compact file has no whitespace, so the common case returns at once.
  // (Call sites test the next character first: in a 2 MB index the calls alone were a fifth of the scan.)
  const skipSpace = () => {
    while (i < n && isSpace(text.charCodeAt(i))) {
      i++
      compact = false
    }
  }

  /** Reads `"key":` for the object at `depth`; a problem, or undefined when it went well. */
  const readKey = (): Problem | undefined => {
    if (isSpace(text.charCodeAt(i))) skipSpace()
    if (text.charCodeAt(i) !== 0x22) return { kind: "syntax" }
    const end = stringEnd(text, i)
    if (end < 0) return { kind: "syntax" }
    const start = i + 1
    const stop = end - 1
    let key: string | undefined
    for (let k = start; k < stop; k++) {
      if (text.charCodeAt(k) !== 0x5c) continue
      try {
        const parsed: unknown = JSON.parse(text.slice(i, end))
        if (typeof parsed !== "string") return { kind: "syntax" }
        key = parsed
      } catch {
        return { kind: "syntax" }
      }
      break
    }
    i = end
    keyStarts[depth] = start
    keyEnds[depth] = stop
    keyTexts[depth] = key
    // JSON.parse keeps "__proto__" as an own key, but any later spread or copy turns it into a prototype,
    // through which unvalidated fields would be inherited. Such a key has no business in an OCI document.
    if ((key === undefined ? stop - start : key.length) === 9 && keyAt(depth) === "__proto__") {
      return { kind: "proto", path: pathTo(depth) }
    }
    {
      const base = depth * slots
      const count = slotCounts[depth] ?? 0
      let set = keySets[depth]
      if (set === undefined && (key !== undefined || count >= linearKeys)) {
        set = new Set()
        for (let k = 0; k < count; k++) set.add(text.slice(slotStarts[base + k] ?? 0, slotEnds[base + k] ?? 0))
        keySets[depth] = set
      }
      let repeated = false
      if (set !== undefined) {
        const name = keyAt(depth)
        repeated = set.has(name)
        set.add(name)
      } else {
        const length = stop - start
        for (let k = 0; k < count && !repeated; k++) {
          const slotStart = slotStarts[base + k] ?? 0
          repeated = (slotEnds[base + k] ?? 0) - slotStart === length && sameRange(slotStart, start, length)
        }
        if (!repeated) {
          slotStarts[base + count] = start
          slotEnds[base + count] = stop
          slotCounts[depth] = count + 1
        }
      }
      if (repeated) {
        if (duplicateKeys === "refuse") return { kind: "duplicate-key", path: pathTo(depth) }
        duplicates.push({ path: pathTo(depth - 1), key: keyAt(depth) })
      }
    }
    if (isSpace(text.charCodeAt(i))) skipSpace()
    if (text.charCodeAt(i) !== 0x3a) return { kind: "syntax" }
    i++
    if (isSpace(text.charCodeAt(i))) skipSpace()
    if (depth === 1) {
      memberKey = keyAt(1)
      memberStart = i
    }
    return undefined
  }

  const open = (kind: number): Problem | undefined => {
    if (depth >= depthLimit) return { kind: "too-deep" }
    if (depth === 1 && kind === ARRAY && memberKey === "manifests") inManifests = true
    depth++
    kinds[depth] = kind
    counts[depth] = 0
    slotCounts[depth] = 0
    keySets[depth] = undefined
    return undefined
  }

  const close = () => {
    keySets[depth] = undefined
    depth--
    if (depth === 1) inManifests = false
  }

  /** A value at `depth` has just ended at `i`. */
  const ended = () => {
    if (depth === 1 && memberStart >= 0) {
      members.push({ key: memberKey, start: memberStart, end: i })
      memberStart = -1
    } else if (depth === 2 && inManifests && elementStart >= 0) {
      if (elementCount === starts.length) {
        starts = doubled(starts)
        ends = doubled(ends)
      }
      starts[elementCount] = elementStart
      ends[elementCount] = i
      elementCount++
      elementStart = -1
    }
  }

  for (;;) {
    // A value starts here.
    if (isSpace(text.charCodeAt(i))) skipSpace()
    if (i >= n) return { kind: "syntax" }
    if (depth === 2 && inManifests) elementStart = i
    const code = text.charCodeAt(i)
    let complete = true
    if (code === 0x7b || code === 0x5b) {
      const kind = code === 0x7b ? OBJECT : ARRAY
      const problem = open(kind)
      if (problem) return problem
      i++
      if (isSpace(text.charCodeAt(i))) skipSpace()
      const next = text.charCodeAt(i)
      if ((kind === OBJECT && next === 0x7d) || (kind === ARRAY && next === 0x5d)) {
        i++
        close()
      } else if (kind === OBJECT) {
        const keyProblem = readKey()
        if (keyProblem) return keyProblem
        complete = false
      } else {
        complete = false
      }
    } else if (code === 0x22) {
      const end = stringEnd(text, i)
      if (end < 0) return { kind: "syntax" }
      i = end
    } else {
      const start = i
      // Only a long integer or one with a fraction or exponent can lose its value in JSON.parse.
      let plain = true
      for (let c = text.charCodeAt(i); i < n && isNumberChar(c); c = text.charCodeAt(++i)) {
        if (c === 0x2e || c === 0x65 || c === 0x45) plain = false
      }
      if (i === start) {
        // true, false, null
        while (i < n && text.charCodeAt(i) >= 0x61 && text.charCodeAt(i) <= 0x7a) i++
        if (i === start) return { kind: "syntax" }
      } else if (inexact === undefined && (!plain || i - start > 15)) {
        const token = text.slice(start, i)
        if (!isExactNumber(token)) inexact = { path: pathTo(depth), token }
      }
    }
    if (!complete) continue
    // After a value: a comma starts the next one; a closing bracket completes its container as a value.
    for (;;) {
      ended()
      if (isSpace(text.charCodeAt(i))) skipSpace()
      if (depth === 0) {
        if (i !== n) return { kind: "syntax" }
        const elements = {
          count: elementCount,
          starts: starts.subarray(0, elementCount),
          ends: ends.subarray(0, elementCount)
        }
        return { members, elements, compact, inexact, duplicates }
      }
      const next = text.charCodeAt(i)
      if (next === 0x2c) {
        i++
        if (kinds[depth] === OBJECT) {
          const keyProblem = readKey()
          if (keyProblem) return keyProblem
        } else {
          counts[depth] = (counts[depth] ?? 0) + 1
        }
        break
      }
      if ((next === 0x7d && kinds[depth] === OBJECT) || (next === 0x5d && kinds[depth] === ARRAY)) {
        i++
        close()
        continue
      }
      return { kind: "syntax" }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------------------

// ignoreBOM false: a leading byte-order mark is dropped. RFC 8259 lets a parser ignore one, and text editors
// on Windows add one; Go's encoding/json (buildkit, skopeo, umoci) refuses it. ocidx reads such a file, and
// since every write renders the document from this text, a write drops the mark: ocidx never writes one.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

// The two below are a try statement, not Either.try: that costs an object and two closures a call, and a
// verify decodes every manifest of a layout.

/** Bytes to text, refusing invalid UTF-8 rather than replacing it. @internal */
export const decodeUtf8 = (path: string, bytes: Uint8Array): Either.Either<string, DecodeError> => {
  try {
    return Either.right(utf8.decode(bytes))
  } catch {
    return Either.left(failure(path, "utf8", "the file is not valid UTF-8", []))
  }
}

const parseValue = (path: string, text: string): Either.Either<unknown, DecodeError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(
      failure(path, "json", `not valid JSON (${error instanceof Error ? error.message : String(error)})`, [])
    )
  }
  return Either.right(value)
}

const noElements: Elements = { count: 0, starts: new Int32Array(0), ends: new Int32Array(0) }

/** A quote that ends a key: a string's closing quote is followed by `:` only when the string is a key. */
const keyEnd = /"[ \t\n\r]*:/g

/**
 * Whether `value`, parsed from `text`, holds nothing the scan refuses or notes, as the scan would find: no
 * level nested `maxDepth` deep, no `"__proto__"` key, and no repeated key, known by counting, since JSON.parse
 * keeps one key of each repeated set: its objects have as many keys as the text has key tokens. A key token
 * ends at a quote not escaped (after an even run of backslashes) followed by `:`; inside a string every quote
 * is escaped, so no other quote is. Not plain is not an error: the caller then scans. Several times cheaper
 * than the scan, which reads the text a character at a time in JavaScript.
 */
const isPlain = (text: string, value: unknown): boolean => {
  let keys = 0
  const pending: Array<unknown> = [value]
  const depths: Array<number> = [1]
  while (pending.length > 0) {
    const item = pending.pop()
    const depth = depths.pop() ?? 0
    if (typeof item !== "object" || item === null) continue
    // One short of the scan's limit, so a text the scan would refuse is always scanned.
    if (depth >= maxDepth) return false
    if (Array.isArray(item)) {
      for (const element of item) {
        if (typeof element === "object" && element !== null) {
          pending.push(element)
          depths.push(depth + 1)
        }
      }
      continue
    }
    if (Object.hasOwn(item, "__proto__")) return false
    for (const key in item) {
      if (!Object.hasOwn(item, key)) continue
      keys++
      const member: unknown = Reflect.get(item, key)
      if (typeof member === "object" && member !== null) {
        pending.push(member)
        depths.push(depth + 1)
      }
    }
  }
  let tokens = 0
  keyEnd.lastIndex = 0
  for (let match = keyEnd.exec(text); match !== null; match = keyEnd.exec(text)) {
    let backslashes = 0
    for (let at = match.index - 1; at >= 0 && text.charCodeAt(at) === 0x5c; at--) backslashes++
    if (backslashes % 2 === 0) tokens++
  }
  return tokens === keys
}

/** Parses text already decoded from UTF-8, under the reader's checks. @internal */
export const parseText = (
  path: string,
  text: string,
  options?: ReadOptions
): Either.Either<JsonDocument, DecodeError> => {
  const maxBytes = options?.maxBytes ?? maxDocumentBytes
  // Each character is at least one byte: a text this long came from more bytes than the cap.
  if (text.length > maxBytes) return Either.left(tooLarge(path, text.length, maxBytes))
  const known = options?.recognize?.(text)
  if (known !== undefined) {
    return Either.map(parseValue(path, text), (value) => ({
      text,
      value,
      members: known.members,
      elements: known.elements,
      compact: true,
      duplicates: []
    }))
  }
  if (options?.spans === false && options.exactNumbers !== true) {
    const parsed = parseValue(path, text)
    if (Either.isRight(parsed) && isPlain(text, parsed.right)) {
      return Either.right({
        text,
        value: parsed.right,
        members: [],
        elements: noElements,
        compact: false,
        duplicates: []
      })
    }
  }
  const scanned = scan(text, options?.duplicateKeys ?? "refuse")
  if ("kind" in scanned) {
    switch (scanned.kind) {
      case "too-deep":
        return Either.left(
          // No path: at this depth it would be longer than the message.
          failure(path, "too-deep", `arrays and objects nest more than ${maxDepth} levels deep`, [])
        )
      case "duplicate-key":
        return Either.left(
          failure(
            path,
            "duplicate-key",
            "this key appears more than once in its object; readers disagree on which value counts (the OCI spec forbids duplicate keys)",
            scanned.path
          )
        )
      case "proto":
        return Either.left(failure(path, "schema", 'a "__proto__" key is not allowed in an OCI document', scanned.path))
      case "syntax":
        break
    }
  }
  const parsed = parseValue(path, text)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const value = parsed.right
  if ("kind" in scanned) {
    // The scan and the parser disagree on the grammar: trust neither with a write.
    return Either.left(failure(path, "json", "not valid JSON", []))
  }
  if (options?.exactNumbers === true && scanned.inexact !== undefined) {
    const { path: at, token } = scanned.inexact
    return Either.left(
      failure(
        path,
        "inexact-number",
        `the number ${token.length > 40 ? `${token.slice(0, 40)}...` : token} cannot be kept exactly (a JSON number ocidx writes must be a finite 64-bit float, as in JavaScript and Go)`,
        at
      )
    )
  }
  return Either.right({
    text,
    value,
    members: scanned.members,
    elements: scanned.elements,
    compact: scanned.compact,
    duplicates: scanned.duplicates
  })
}

/** Reads a JSON document's bytes under every check: size, UTF-8, depth, keys, numbers. @internal */
export const readJson = (
  path: string,
  bytes: Uint8Array,
  options?: ReadOptions
): Either.Either<JsonDocument, DecodeError> => {
  const maxBytes = options?.maxBytes ?? maxDocumentBytes
  if (bytes.length > maxBytes) return Either.left(tooLarge(path, bytes.length, maxBytes))
  return Either.flatMap(decodeUtf8(path, bytes), (text) => parseText(path, text, options))
}

/**
 * A span's text as compact JSON: whitespace outside strings removed, everything else (numbers, escapes, key
 * order) exactly as written.
 * @internal
 */
export const compactText = (text: string, span: Span): string => {
  let out = ""
  let runStart = span.start
  let i = span.start
  while (i < span.end) {
    const code = text.charCodeAt(i)
    if (code === 0x22) {
      const end = stringEnd(text, i)
      i = end < 0 ? span.end : end
    } else if (isSpace(code)) {
      out += text.slice(runStart, i)
      while (i < span.end && isSpace(text.charCodeAt(i))) i++
      runStart = i
    } else {
      i++
    }
  }
  return out + text.slice(runStart, span.end)
}

/**
 * Lays a compact JSON text (as `compactText` gives) out as `JSON.stringify(value, null, 2)` lays out its value,
 * as if nested `depth` levels deep (every line after the first is indented that much more), keeping every
 * string and number exactly as written: `1e400` stays `1e400` where a parse and stringify would print `null`.
 * @internal
 */
export const indentText = (text: string, depth: number): string => {
  const unit = "  "
  let level = depth
  let out = ""
  let runStart = 0
  let i = 0
  // Ends the run before `at`, then starts a new line at the current level.
  const breakLine = (at: number): void => {
    out += `${text.slice(runStart, at)}\n${unit.repeat(level)}`
    runStart = at
  }
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === 0x22) {
      const end = stringEnd(text, i)
      i = end < 0 ? text.length : end
    } else if (code === 0x7b || code === 0x5b) {
      const next = text.charCodeAt(i + 1)
      // `{}` and `[]` stay on one line, as JSON.stringify writes them.
      if (next === 0x7d || next === 0x5d) i += 2
      else {
        level++
        breakLine(++i)
      }
    } else if (code === 0x7d || code === 0x5d) {
      level--
      breakLine(i++)
    } else if (code === 0x2c) {
      breakLine(++i)
    } else if (code === 0x3a) {
      out += `${text.slice(runStart, ++i)} `
      runStart = i
    } else i++
  }
  return out + text.slice(runStart)
}

/**
 * Renders a value ocidx has no source text for as JSON, refusing what JSON.stringify would silently change
 * (a non-finite number becomes `null`) or cannot render (nesting deep enough to overflow the stack).
 * `at` is where the value sits in the document, for the error.
 * @internal
 */
export const stringifyChecked = (
  path: string,
  at: ReadonlyArray<string | number>,
  value: unknown
): Either.Either<string, DecodeError> => {
  // An explicit stack: the check itself must not recurse over whatever depth it is given.
  const stack: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const current = item.value
    if (typeof current === "number" && !Number.isFinite(current)) {
      return Either.left(
        failure(path, "inexact-number", `the number ${current} cannot be written as JSON; ocidx does not write it`, at)
      )
    }
    if (typeof current !== "object" || current === null) continue
    if (item.depth >= maxDepth) {
      return Either.left(
        failure(
          path,
          "too-deep",
          `arrays and objects nest more than ${maxDepth} levels deep; ocidx does not write it`,
          at
        )
      )
    }
    for (const child of Object.values(current)) stack.push({ value: child, depth: item.depth + 1 })
  }
  return Either.right(JSON.stringify(value))
}
