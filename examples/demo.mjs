#!/usr/bin/env node
// `npm run demo`: builds a small but real OCI image with nothing but the `ocidx` command, from an empty
// directory, and shows each step. The layer is a tar archive made right here (a tiny ustar writer) and
// gzipped with node:zlib; the config, the manifest and the index entry are made with `ocidx blob put` and
// `ocidx put`. The result is a layout skopeo, umoci, podman and buildkit can read:
//
//   node examples/demo.mjs [dir]      (default: a new directory under the system temp dir, kept afterwards)
//   skopeo inspect oci:<dir>:v1
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Zlib from "node:zlib"

const ocidxBin = fileURLToPath(new URL("../packages/cli/bin/ocidx.mjs", import.meta.url))
const tag = "v1"
// Its tag part, 1.0, becomes a second ref name: two entries with the same ref name would be ambiguous to umoci.
const imageName = "example.com/ocidx/demo:1.0"

// A fixed time keeps the demo's digests the same on every run.
const epoch = new Date("2024-01-01T00:00:00Z")

/** Runs `ocidx ...args`, prints the command and its output, and returns stdout. Stops the demo on failure. */
const ocidx = (args, options = {}) => {
  console.log(`\n$ ocidx ${args.join(" ")}${options.inputLabel ? ` < ${options.inputLabel}` : ""}`)
  const result = ChildProcess.spawnSync(process.execPath, [ocidxBin, ...args], {
    input: options.input === undefined ? undefined : Buffer.from(options.input),
    stdio: ["pipe", "pipe", "inherit"]
  })
  const stdout = result.stdout.toString("utf8")
  if (!options.quiet) process.stdout.write(stdout)
  if (result.status !== 0) {
    console.error(`\ndemo: \`ocidx ${args[0]}\` exited with ${result.status ?? result.signal}; stopping.`)
    process.exit(1)
  }
  return stdout
}

const sha256 = (bytes) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const step = (text) => console.log(`\n== ${text}`)

// ---------------------------------------------------------------------------------------------------------
// A minimal ustar writer: regular files only, each a 512-byte header, the content padded to 512 bytes, and
// two zero blocks at the end.

const octal = (value, width) => `${value.toString(8).padStart(width - 1, "0")}\0`

const tarHeader = (name, size, mtime) => {
  const header = Buffer.alloc(512, 0)
  const put = (text, offset, width) => header.write(text, offset, width, "ascii")
  put(name, 0, 100)
  put(octal(0o644, 8), 100, 8) // mode
  put(octal(0, 8), 108, 8) // uid
  put(octal(0, 8), 116, 8) // gid
  put(octal(size, 12), 124, 12)
  put(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12)
  put("        ", 148, 8) // the checksum is computed with its own field as spaces
  put("0", 156, 1) // a regular file
  put("ustar\0", 257, 6)
  put("00", 263, 2)
  put("root", 265, 32) // uname
  put("root", 297, 32) // gname
  let checksum = 0
  for (const byte of header) checksum += byte
  put(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, 8)
  return header
}

const tar = (files, mtime) => {
  const blocks = []
  for (const { name, content } of files) {
    const data = Buffer.from(content, "utf8")
    blocks.push(tarHeader(name, data.length, mtime), data, Buffer.alloc((512 - (data.length % 512)) % 512, 0))
  }
  blocks.push(Buffer.alloc(1024, 0))
  return Buffer.concat(blocks)
}

// ---------------------------------------------------------------------------------------------------------

const directory = process.argv[2]
  ? NodePath.resolve(process.argv[2])
  : NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-demo-"))
if (!NodeFs.existsSync(ocidxBin) || !NodeFs.existsSync(new URL("../packages/cli/dist/ocidx.mjs", import.meta.url))) {
  console.error("demo: the ocidx bundle is missing; run `npm run build --workspace @ocidx/cli` first.")
  process.exit(1)
}

console.log(`ocidx demo: building a one-layer OCI image in ${directory}`)

step("1. An empty image layout: oci-layout, index.json and blobs/")
ocidx(["init", directory])

step("2. The layer: a tar archive with two files, gzipped, added as a blob")
const layerTar = tar(
  [
    { name: "hello.txt", content: "Hello from an image built by ocidx.\n" },
    { name: "etc/ocidx-demo", content: `built ${epoch.toISOString()}\n` }
  ],
  epoch
)
// The config names the layer by the digest of its uncompressed tar (the diff ID).
const diffId = sha256(layerTar)
const layerGzip = Zlib.gzipSync(layerTar, { level: 9 })
console.log(`tar ${layerTar.length} bytes, diff ID ${diffId}; gzipped ${layerGzip.length} bytes`)
const layer = JSON.parse(
  ocidx(["blob", "put", directory, "-", "--media-type", "application/vnd.oci.image.layer.v1.tar+gzip"], {
    input: layerGzip,
    inputLabel: "layer.tar.gz"
  })
)

step("3. The image config: platform, command, and rootfs.diff_ids naming the layer")
const config = {
  created: epoch.toISOString(),
  architecture: "amd64",
  os: "linux",
  config: { Cmd: ["/bin/cat", "/hello.txt"], WorkingDir: "/" },
  rootfs: { type: "layers", diff_ids: [diffId] },
  history: [{ created: epoch.toISOString(), created_by: "examples/demo.mjs: tar of hello.txt and etc/ocidx-demo" }]
}
const configDescriptor = JSON.parse(
  ocidx(["blob", "put", directory, "-", "--media-type", "application/vnd.oci.image.config.v1+json"], {
    input: JSON.stringify(config),
    inputLabel: "config.json"
  })
)

step("4. The manifest: the config and the layer, by descriptor")
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: configDescriptor,
  layers: [layer],
  annotations: { "org.opencontainers.image.created": epoch.toISOString() }
}
const manifestDescriptor = JSON.parse(
  ocidx(["blob", "put", directory, "-"], { input: JSON.stringify(manifest), inputLabel: "manifest.json" })
)

step(`5. The index entry: tag ${tag} and the full name ${imageName}`)
ocidx([
  "put",
  directory,
  tag,
  "--digest",
  manifestDescriptor.digest,
  "--size",
  String(manifestDescriptor.size),
  "--name",
  imageName,
  "--platform",
  "linux/amd64"
])

step("6. What the layout holds")
ocidx(["ls", directory])
ocidx(["get", directory, tag])

step("7. A check of everything: index, manifest, config, layer digests and sizes")
ocidx(["verify", directory])

console.log(`\nDone. The image is in ${directory}; try:`)
console.log(`  skopeo inspect oci:${directory}:${tag}`)
console.log(`  node ${NodePath.relative(process.cwd(), ocidxBin)} cat ${directory} ${tag}`)
if (!process.argv[2]) console.log(`Remove it with: rm -rf ${directory}`)
