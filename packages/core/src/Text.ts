/**
 * Untrusted text made safe to print: a tag from the command line, a name or annotation from index.json, a
 * path. A newline in such text would split one error into several lines, and an escape sequence would
 * reach the terminal (colours, cursor moves, window titles), so every message and table that shows such
 * text shows it through `quote` or `escapeControls`.
 *
 * @since 0.1.0
 */

const shortEscapes: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" }

/**
 * Code units that are never printed as they are: C0 and C1 controls, DEL, the line and paragraph
 * separators, and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder
 * what a terminal shows.
 */
const isUnsafe = (code: number): boolean =>
  code < 0x20 ||
  (code >= 0x7f && code <= 0x9f) ||
  code === 0x2028 ||
  code === 0x2029 ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069)

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

const unicodeEscape = (code: number) => `\\u${code.toString(16).padStart(4, "0")}`

const escapeWith = (text: string, quotes: boolean): string => {
  let out = ""
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (isHighSurrogate(code)) {
      const next = text.charCodeAt(i + 1)
      if (isLowSurrogate(next)) {
        out += text.slice(i, i + 2)
        i++
      } else {
        out += unicodeEscape(code)
      }
    } else if (isLowSurrogate(code)) {
      // A lone low surrogate: its pair would have been consumed above.
      out += unicodeEscape(code)
    } else if (isUnsafe(code)) {
      out += shortEscapes[code] ?? unicodeEscape(code)
    } else if (quotes && (code === 0x22 || code === 0x5c)) {
      out += `\\${text.charAt(i)}`
    } else {
      out += text.charAt(i)
    }
  }
  return out
}

/**
 * The text with every unsafe character written as a JSON-style escape (`\n`, `\u001b`, `\u202e`), and
 * everything else, quotes and backslashes included, as it is: for table cells and paths, where quotes
 * would be noise. Text without unsafe characters comes back unchanged.
 *
 * @since 0.1.0
 * @category formatting
 */
export const escapeControls = (text: string): string => escapeWith(text, false)

/**
 * The text in double quotes, escaped as JSON escapes a string, and also C1 controls, DEL and bidi
 * overrides: `quote("a\nb")` is `"a\nb"` with a backslash, on one line. For values inside messages.
 *
 * @since 0.1.0
 * @category formatting
 */
export const quote = (text: string): string => `"${escapeWith(text, true)}"`
