/**
 * `WWW-Authenticate` challenges (RFC 7235): `Basic realm="x", Bearer realm="https://a/token",service="s",scope="a b"`.
 * @internal
 */

/** @internal */
export interface Challenge {
  /** Lower case: `basic`, `bearer`, ... */
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/
const space = /^[ \t]*/

/**
 * Every challenge in a header value, in order. A malformed tail ends the parse: what was read is kept,
 * since a registry's odd header should not hide the challenge it did send well formed.
 * @internal
 */
export const parse = (header: string): ReadonlyArray<Challenge> => {
  const challenges: Array<Challenge> = []
  let rest = header
  const skip = (pattern: RegExp): string => {
    const match = pattern.exec(rest)
    const text = match === null ? "" : match[0]
    rest = rest.slice(text.length)
    return text
  }
  while (rest.length > 0) {
    skip(/^[ \t,]*/)
    const scheme = skip(token)
    if (scheme === "") break
    const params: Record<string, string> = Object.create(null)
    skip(space)
    // Params until the next `scheme ` (a token followed by a space and another token, not `=`).
    while (rest.length > 0) {
      const save = rest
      skip(/^[ \t,]*/)
      const name = skip(token)
      if (name === "") break
      skip(space)
      if (!rest.startsWith("=")) {
        // A token without `=` starts the next challenge.
        rest = save
        break
      }
      rest = rest.slice(1)
      skip(space)
      let value: string
      if (rest.startsWith('"')) {
        value = ""
        let i = 1
        for (; i < rest.length && rest[i] !== '"'; i++) {
          if (rest[i] === "\\" && i + 1 < rest.length) i++
          value += rest[i]
        }
        rest = rest.slice(i + 1)
      } else {
        value = skip(/^[^,\s]*/)
      }
      params[name.toLowerCase()] = value
      skip(space)
    }
    challenges.push({ scheme: scheme.toLowerCase(), params })
  }
  return challenges
}
