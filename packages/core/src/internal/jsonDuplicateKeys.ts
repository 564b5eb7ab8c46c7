/**
 * Finds duplicate object keys in JSON text, which `JSON.parse` silently resolves to the last value. A
 * single pass with an explicit stack, so deeply nested input cannot overflow the call stack. Text that is
 * not valid JSON is scanned up to the first syntax error (the parser reports that error itself).
 * @internal
 */

/** @internal */
export interface DuplicateKey {
  /** Where the object holding the key is, e.g. `["manifests", 0, "annotations"]`. */
  readonly path: ReadonlyArray<string | number>
  readonly key: string
}

/** Where a container sits: its parent and its key there. Paths are built only for a duplicate, so deep
 * nesting costs linear memory, not quadratic. */
interface Place {
  readonly parent: Frame | undefined
  readonly at: string | number
}

type Frame =
  | { readonly type: "object"; readonly place: Place; readonly keys: Set<string>; key: string }
  | { readonly type: "array"; readonly place: Place; index: number }

const pathOf = (frame: Frame): ReadonlyArray<string | number> => {
  const path: Array<string | number> = []
  for (let cursor: Frame | undefined = frame; cursor?.place.parent !== undefined; cursor = cursor.place.parent) {
    path.push(cursor.place.at)
  }
  return path.reverse()
}

const isWhitespace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09

/** Every duplicate key, in the order they appear. @internal */
export const duplicateKeys = (text: string): ReadonlyArray<DuplicateKey> => {
  const found: Array<DuplicateKey> = []
  const stack: Array<Frame> = []
  let i = 0

  const skipWhitespace = () => {
    while (i < text.length && isWhitespace(text.charCodeAt(i))) i++
  }

  /** Reads the string token at `i` (a `"`), returning its raw text, or undefined when it never ends. */
  const readString = (): string | undefined => {
    let j = i + 1
    while (j < text.length) {
      const char = text[j]
      if (char === "\\") j += 2
      else if (char === '"') break
      else j++
    }
    if (j >= text.length) return undefined
    const token = text.slice(i, j + 1)
    i = j + 1
    return token
  }

  const keyText = (token: string): string | undefined => {
    if (!token.includes("\\")) return token.slice(1, -1)
    try {
      const value: unknown = JSON.parse(token)
      return typeof value === "string" ? value : undefined
    } catch {
      return undefined
    }
  }

  const childPlace = (): Place => {
    const parent = stack.at(-1)
    if (parent === undefined) return { parent: undefined, at: "" }
    return { parent, at: parent.type === "object" ? parent.key : parent.index }
  }

  /** Reads `"key":` in the object on top of the stack; false on a syntax error. */
  const readKey = (frame: Extract<Frame, { type: "object" }>): boolean => {
    skipWhitespace()
    if (text[i] !== '"') return false
    const token = readString()
    const key = token === undefined ? undefined : keyText(token)
    if (key === undefined) return false
    if (frame.keys.has(key)) found.push({ path: pathOf(frame), key })
    else frame.keys.add(key)
    frame.key = key
    skipWhitespace()
    if (text[i] !== ":") return false
    i++
    return true
  }

  // Each turn reads one value, then climbs out of every container that value completes.
  for (;;) {
    skipWhitespace()
    const char = text[i]
    if (char === "{") {
      const frame: Frame = { type: "object", place: childPlace(), keys: new Set(), key: "" }
      stack.push(frame)
      i++
      skipWhitespace()
      if (text[i] !== "}") {
        if (!readKey(frame)) return found
        continue
      }
      i++
      stack.pop()
    } else if (char === "[") {
      stack.push({ type: "array", place: childPlace(), index: 0 })
      i++
      skipWhitespace()
      if (text[i] !== "]") continue
      i++
      stack.pop()
    } else if (char === '"') {
      if (readString() === undefined) return found
    } else {
      const start = i
      while (i < text.length && !/[\s,\]}]/.test(text.charAt(i))) i++
      if (i === start) return found
    }
    // After a value: a comma starts the next member; a closing bracket ends a container.
    for (;;) {
      skipWhitespace()
      const top = stack.at(-1)
      if (top === undefined) return found
      const next = text[i]
      if (next === ",") {
        i++
        if (top.type === "object") {
          if (!readKey(top)) return found
        } else {
          top.index++
        }
        break
      }
      if ((next === "}" && top.type === "object") || (next === "]" && top.type === "array")) {
        i++
        stack.pop()
        continue
      }
      return found
    }
  }
}
