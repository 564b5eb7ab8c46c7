/**
 * The documents whose examples and transcripts the suite runs: README.md and every docs/*.md.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

/** README.md, then docs/*.md in name order, as paths relative to `repoRoot`. */
export const markdownDocuments = (repoRoot: string): ReadonlyArray<string> => {
  const docsDir = NodePath.join(repoRoot, "docs")
  const docs = NodeFs.existsSync(docsDir)
    ? NodeFs.readdirSync(docsDir)
        .filter((name) => name.endsWith(".md"))
        .sort()
        .map((name) => `docs/${name}`)
    : []
  return ["README.md", ...docs]
}
