/**
 * Builds one bench fixture at a path, for profiling a command by hand (bench/profile.mjs uses it):
 *
 *   make-layout.mjs blobs <n> <dir>                     n small blobs, 10% of them garbage
 *   make-layout.mjs image <tags> <layers> <MiB> <dir>   a umoci-built image (when umoci is there) with tags
 *   make-layout.mjs file <MiB> <path>                   a file of random bytes
 */
import { addTags, makeBlobLayout, makeImageLayout, writeRandomFile } from "../lib/fixtures.js"
import { MiB } from "../lib/support.js"

const [kind, ...rest] = process.argv.slice(2)
const int = (text: string | undefined): number => {
  const value = Number.parseInt(text ?? "", 10)
  if (!Number.isFinite(value)) throw new Error(`expected a number, got ${text}`)
  return value
}

const main = async (): Promise<string> => {
  switch (kind) {
    case "blobs": {
      const [n, dir = ""] = rest
      const layout = await makeBlobLayout(dir, int(n))
      return `${layout.blobs} blobs (${layout.garbage} garbage) in ${dir}`
    }
    case "image": {
      const [tags, layers, mib, dir = ""] = rest
      const { builtBy, manifest } = makeImageLayout(dir, { layers: int(layers), layerBytes: int(mib) * MiB })
      await addTags(dir, manifest, int(tags), "tag")
      return `image ${manifest.digest} built by ${builtBy}, ${tags} tags, in ${dir}`
    }
    case "file": {
      const [mib, path = ""] = rest
      writeRandomFile(path, int(mib) * MiB)
      return `${mib} MiB of random bytes in ${path}`
    }
    default:
      throw new Error("usage: make-layout.mjs blobs <n> <dir> | image <tags> <layers> <MiB> <dir> | file <MiB> <path>")
  }
}

main().then(
  (message) => console.error(message),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
