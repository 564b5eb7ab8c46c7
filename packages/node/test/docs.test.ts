/**
 * The code in README.md and docs/*.md is code the suite runs. Every ```ts block is either marked
 * `<!-- example: <file> -->` (or `<!-- example: <file>#<region> -->`) and equal to that file or to the
 * region between `// #region <region>` and `// #endregion <region>` in it, or marked `<!-- fragment -->`.
 * Each example file is imported by a test, and every repository path the docs name exists, so a renamed
 * test or module shows up here instead of in a reader's dead link.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { FindingCode } from "@ocidx/core/Layout"
import { markdownDocuments } from "@ocidx/testkit/Docs"

const repoRoot = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../..")

const docFiles = (): ReadonlyArray<string> => markdownDocuments(repoRoot)

const read = (relative: string): string => NodeFs.readFileSync(NodePath.join(repoRoot, relative), "utf8")

interface CodeBlock {
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  /** The last non-blank line before the fence. */
  readonly marker: string | undefined
  readonly content: string
}

const codeBlocks = (file: string): ReadonlyArray<CodeBlock> => {
  const lines = read(file).split("\n")
  const blocks: Array<CodeBlock> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*$/.exec(lines[i] ?? "")
    if (open === null) continue
    const fence = open[1] ?? "```"
    let end = i + 1
    while (end < lines.length && (lines[end] ?? "").trimEnd() !== fence) end++
    let previous = i - 1
    while (previous >= 0 && (lines[previous] ?? "").trim() === "") previous--
    blocks.push({
      file,
      line: i + 1,
      lang: open[2] ?? "",
      marker: previous >= 0 ? lines[previous]?.trim() : undefined,
      content: lines.slice(i + 1, end).join("\n")
    })
    i = end
  }
  return blocks
}

const isTypeScript = (block: CodeBlock): boolean => ["ts", "typescript", "tsx"].includes(block.lang)

const exampleMarker = /^<!--\s*example:\s*([^\s#]+)(?:#(\S+))?\s*-->$/
const fragmentMarker = /^<!--\s*fragment\s*-->$/

/** The lines between `// #region name` and `// #endregion name`, or the whole file. */
const exampleText = (relative: string, region: string | undefined): string => {
  const text = read(relative)
  if (region === undefined) return text
  const lines = text.split("\n")
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`)
  const end = lines.findIndex((line, index) => index > start && line.trim() === `// #endregion ${region}`)
  if (start < 0 || end < 0) throw new Error(`${relative} has no region "${region}"`)
  return lines.slice(start + 1, end).join("\n")
}

const where = (block: CodeBlock): string => `${block.file}:${block.line}`

const allBlocks = (): ReadonlyArray<CodeBlock> => docFiles().flatMap(codeBlocks)

const testFiles = (): ReadonlyArray<string> =>
  NodeFs.readdirSync(NodePath.join(repoRoot, "packages")).flatMap((pkg) => {
    const testDir = NodePath.join(repoRoot, "packages", pkg, "test")
    if (!NodeFs.existsSync(testDir)) return []
    return NodeFs.readdirSync(testDir)
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => NodePath.join(testDir, name))
  })

describe("the code in README.md and docs/*.md", () => {
  it("finds the documents and their TypeScript blocks", () => {
    expect(docFiles()).toContain("README.md")
    expect(docFiles()).toContain("docs/library.md")
    expect(allBlocks().filter(isTypeScript).length).toBeGreaterThan(0)
  })

  it("every ts block is an example file (or a region of one) or marked as a fragment", () => {
    const problems: Array<string> = []
    for (const block of allBlocks().filter(isTypeScript)) {
      const marker = block.marker ?? ""
      if (fragmentMarker.test(marker)) continue
      const example = exampleMarker.exec(marker)
      if (example === null) {
        problems.push(`${where(block)}: a ts block needs <!-- example: <file> --> or <!-- fragment --> before it`)
        continue
      }
      const path = example[1] ?? ""
      if (!NodeFs.existsSync(NodePath.join(repoRoot, path))) {
        problems.push(`${where(block)}: ${path} does not exist`)
        continue
      }
      const expected = exampleText(path, example[2]).trimEnd()
      if (block.content.trimEnd() !== expected) {
        problems.push(
          `${where(block)}: differs from ${path}${example[2] ? `#${example[2]}` : ""}; paste the file again`
        )
      }
    }
    expect(problems).toEqual([])
  })

  it("fragments stay few", () => {
    const fragments = allBlocks().filter((block) => isTypeScript(block) && fragmentMarker.test(block.marker ?? ""))
    expect(fragments.map(where).length).toBeLessThanOrEqual(6)
  })

  it("every example file the docs show is imported by a test", () => {
    const examples = new Set(
      allBlocks().flatMap((block) => {
        const match = exampleMarker.exec(block.marker ?? "")
        return match?.[1] === undefined ? [] : [match[1]]
      })
    )
    const tests = testFiles().map((file) => ({ file, text: NodeFs.readFileSync(file, "utf8") }))
    const unrun = [...examples].filter((example) => {
      const imported = example.replace(/\.ts$/, ".js")
      return !tests.some(({ file, text }) =>
        text.includes(NodePath.relative(NodePath.dirname(file), NodePath.join(repoRoot, imported)))
      )
    })
    expect(examples.size).toBeGreaterThan(0)
    expect(unrun).toEqual([])
  })

  it("docs/cli.md lists every verify finding code, and only those", () => {
    const listed = read("docs/cli.md")
      .split("\n")
      .flatMap((line) => {
        const row = /^\| `([a-z][a-z-]*)`\s*\|/.exec(line)
        return row?.[1] === undefined ? [] : [row[1]]
      })
    expect([...listed].sort()).toEqual([...FindingCode.literals].sort())
  })

  it("speak of the code, not of the tracker: no issue numbers", () => {
    const mentions = docFiles().flatMap((file) =>
      [...read(file).matchAll(/\bissues?[ -]#?\d+/gi)].map((match) => `${file}: ${match[0]}`)
    )
    expect(mentions).toEqual([])
  })

  it("every #anchor a document links to is a heading of its target", () => {
    // GitHub's slugs: lowercase, punctuation other than - and _ dropped, spaces to -.
    const slug = (heading: string): string =>
      heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-")
    const broken: Array<string> = []
    for (const file of docFiles()) {
      for (const match of read(file).matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        const target =
          match[1] === "" || match[1] === undefined ? file : NodePath.join(NodePath.dirname(file), match[1])
        if (!target.endsWith(".md") || !NodeFs.existsSync(NodePath.join(repoRoot, target))) continue
        const headings = read(target)
          .split("\n")
          .flatMap((line) => {
            const heading = /^#{1,6}\s+(.*)$/.exec(line)
            return heading?.[1] === undefined ? [] : [slug(heading[1])]
          })
        if (!headings.includes(match[2] ?? "")) broken.push(`${file}: ${match[0]}`)
      }
    }
    expect(broken).toEqual([])
  })

  it("every repository path the documents link to or name exists", () => {
    const missing: Array<string> = []
    for (const file of docFiles()) {
      const text = read(file)
      const linked = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((match) => match[1] ?? "")
        .filter((target) => !/^[a-z]+:/.test(target))
        .map((target) => NodePath.join(NodePath.dirname(file), target))
      // Backticked paths such as `packages/node/test/multiprocess.test.ts` or `examples/library.ts`.
      const named = [...text.matchAll(/`((?:packages|examples|bench|docs)\/[\w./-]+\.\w+)`/g)].map(
        (match) => match[1] ?? ""
      )
      for (const target of [...linked, ...named]) {
        if (!NodeFs.existsSync(NodePath.join(repoRoot, target))) missing.push(`${file}: ${target}`)
      }
    }
    expect(missing).toEqual([])
  })
})
