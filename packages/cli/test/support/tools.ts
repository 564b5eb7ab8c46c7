/**
 * The real tools the interop tests use, and whether they are installed.
 */
import * as NodeFs from "node:fs"

const findTool = (name: string): string | undefined =>
  (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .map((dir) => `${dir}/${name}`)
    .find((path) => NodeFs.existsSync(path))

export const skopeo = findTool("skopeo")
export const umoci = findTool("umoci")
export const flock = findTool("flock")

export const missing = (...tools: ReadonlyArray<readonly [string, string | undefined]>): string | undefined => {
  const absent = tools.filter(([, path]) => path === undefined).map(([name]) => name)
  return absent.length === 0 ? undefined : `${absent.join(" and ")} not installed`
}

/** Says once, on stderr, why a group of tests is skipped. */
export const announceSkip = (what: string, reason: string | undefined): void => {
  if (reason !== undefined) process.stderr.write(`[ocidx cli tests] skipping ${what}: ${reason}\n`)
}
