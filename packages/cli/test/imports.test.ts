/**
 * The libraries and the CLI import Effect's modules one by one (`effect/Effect`, `@effect/platform/FileSystem`),
 * never a value from the `effect` or `@effect/platform` barrel: esbuild keeps a whole module for any name taken
 * from a barrel, so one such import anywhere put all of Effect, Schema and Stream (and fast-check) back into
 * every command's start-up. Type-only imports are erased and may use the barrel.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const packagesDir = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../..")

const sourcesOf = (dir: string): Array<string> =>
  NodeFs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) return sourcesOf(file)
    return entry.name.endsWith(".ts") ? [file] : []
  })

/** Each `import ... from "<barrel>"` statement of `text` that imports values, as written. */
const barrelValueImports = (text: string): Array<string> =>
  [
    ...text.matchAll(
      /^import\s+(type\s+)?(\{[^}]*\}|\*\s+as\s+\w+|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+"(effect|@effect\/platform)"/gm
    )
  ]
    .filter((match) => match[1] === undefined)
    .map((match) => match[0].replace(/\s+/g, " "))

describe("imports", () => {
  it("finds a barrel value import, and lets a type-only one through", () => {
    expect(barrelValueImports('import { Effect } from "effect"\nimport type { Layer } from "effect"\n')).toEqual([
      'import { Effect } from "effect"'
    ])
    expect(barrelValueImports('import { FileSystem } from "@effect/platform"\n')).toHaveLength(1)
    expect(barrelValueImports('import * as Effect from "effect/Effect"\n')).toEqual([])
    // Over several lines, and after a type-only import of another module.
    expect(
      barrelValueImports('import type { A } from "./a.js"\nimport {\n  Effect,\n  Layer\n} from "effect"\n')
    ).toEqual(['import { Effect, Layer } from "effect"'])
  })

  it("no source of core, node or cli imports a value from the effect or @effect/platform barrel", () => {
    const found = ["core", "node", "cli"].flatMap((pkg) =>
      sourcesOf(NodePath.join(packagesDir, pkg, "src")).flatMap((file) =>
        barrelValueImports(NodeFs.readFileSync(file, "utf8")).map(
          (line) => `${NodePath.relative(packagesDir, file)}: ${line}`
        )
      )
    )
    expect(found).toEqual([])
  })
})
