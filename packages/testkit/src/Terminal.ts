/**
 * What tests look for in output meant for a terminal: characters it would act on rather than show. Written
 * apart from core's Text module on purpose, so a test of Text does not check Text against itself.
 */

/**
 * What a terminal acts on, by Unicode category rather than by code ranges as core's Text lists them: the
 * controls (Cc: C0, DEL and C1), the line and paragraph separators, and the bidi embeddings, overrides and
 * isolates.
 */
const unsafe = /^[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]$/u

/** The unsafe characters in `text` other than the line breaks in `allowed`, as code points. */
export const unsafeCharacters = (text: string, allowed: ReadonlyArray<string> = []): ReadonlyArray<number> => {
  const found: Array<number> = []
  for (const char of text) {
    if (unsafe.test(char) && !allowed.includes(char)) found.push(char.codePointAt(0) ?? 0)
  }
  return found
}
