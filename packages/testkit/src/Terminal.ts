/**
 * What tests look for in output meant for a terminal: characters it would act on rather than show. Written
 * apart from core's Text module on purpose, so a test of Text does not check Text against itself.
 */

/** Code points a terminal acts on: C0 and C1 controls, DEL, line separators, bidi overrides and isolates. */
const isUnsafe = (code: number): boolean =>
  code < 0x20 ||
  (code >= 0x7f && code <= 0x9f) ||
  code === 0x2028 ||
  code === 0x2029 ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069)

/** The unsafe characters in `text` other than the line breaks in `allowed`, as code points. */
export const unsafeCharacters = (text: string, allowed: ReadonlyArray<string> = []): ReadonlyArray<number> => {
  const found: Array<number> = []
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0
    if (isUnsafe(code) && !allowed.includes(char)) found.push(code)
  }
  return found
}
