/**
 * index.json as another program sees it: read straight from disk, without ocidx and without a lock.
 */
import * as NodeFs from "node:fs"
import * as Annotations from "@ocidx/core/Annotations"
import { annotation } from "@ocidx/core/Descriptor"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import { Effect, Either, Schema } from "effect"

const decode = Schema.decodeUnknownEither(ImageIndex.ImageIndex)

/** What is on disk: missing, or the bytes and, when they are a valid index, the index. */
export type IndexOnDisk =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Invalid"; readonly content: string; readonly problem: string }
  | { readonly _tag: "Valid"; readonly content: string; readonly index: ImageIndex.ImageIndex }

/** Reads and decodes `indexPath`. An empty file is Invalid: ocidx never leaves one. */
export const readIndexFile = (indexPath: string): Effect.Effect<IndexOnDisk> =>
  Effect.sync((): IndexOnDisk => {
    let content: string
    try {
      content = NodeFs.readFileSync(indexPath, "utf8")
    } catch (error) {
      if (error instanceof Error && "code" in error && error.code === "ENOENT") return { _tag: "Missing" }
      throw error
    }
    if (content.length === 0) return { _tag: "Invalid", content, problem: "the file is empty" }
    let parsed: unknown
    try {
      parsed = JSON.parse(content)
    } catch (error) {
      return { _tag: "Invalid", content, problem: `not JSON: ${String(error)}` }
    }
    return Either.match(decode(parsed), {
      onLeft: (error) => ({ _tag: "Invalid", content, problem: error.message }),
      onRight: (index) => ({ _tag: "Valid", content, index })
    })
  })

/** The ref names of the index's entries, with the digest each points to. */
export const refNames = (index: ImageIndex.ImageIndex): ReadonlyMap<string, string> => {
  const names = new Map<string, string>()
  for (const entry of index.manifests) {
    const refName = annotation(entry, Annotations.refName)
    if (refName !== undefined) names.set(refName, entry.digest)
  }
  return names
}

/** Temp files the atomic writes left beside index.json (by a writer killed mid-way). */
export const leftoverTempFiles = (directory: string): ReadonlyArray<string> =>
  NodeFs.readdirSync(directory).filter((name) => name.endsWith(".ocidx-tmp"))
