/** @internal */
import * as FileSystem from "@effect/platform/FileSystem"
import { type PlatformError, SystemError, type SystemErrorReason } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Errno, FaultOp, MemoryFileSystem } from "../testing.js"

type Node =
  | { readonly type: "File"; data: Uint8Array; mode: number; readonly ino: number; mtime: Date }
  | { readonly type: "Directory"; mode: number; readonly ino: number; mtime: Date }
  | { readonly type: "SymbolicLink"; readonly target: string; mode: number; readonly ino: number; mtime: Date }

interface Fault {
  readonly op: FaultOp
  readonly errno: Errno | "hang"
  readonly nth: number
  readonly path: string | undefined
  seen: number
}

const reasons: Record<Errno, SystemErrorReason> = {
  ENOENT: "NotFound",
  EEXIST: "AlreadyExists",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  EROFS: "Unknown",
  ENOSPC: "Unknown",
  EIO: "Unknown",
  EISDIR: "BadResource",
  ENOTDIR: "BadResource",
  ENOTEMPTY: "Unknown",
  ELOOP: "Unknown",
  EINVAL: "Unknown"
}

const normalize = (path: string): string => {
  const parts: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return `/${parts.join("/")}`
}

const parentOf = (path: string): string => normalize(`${path}/..`)

/** @internal */
export const make = (): MemoryFileSystem => {
  const nodes = new Map<string, Node>([["/", { type: "Directory", mode: 0o755, ino: 1, mtime: new Date(0) }]])
  let nextIno = 2
  let nextFd = 3
  let faults: Array<Fault> = []
  let readOnly = false
  const calls: Array<{ readonly op: FaultOp; readonly path: string }> = []

  const fail = (errno: Errno, method: string, path: string): Effect.Effect<never, PlatformError> =>
    Effect.fail(
      new SystemError({
        reason: reasons[errno],
        module: "FileSystem",
        method,
        pathOrDescriptor: path,
        description: `${errno}: ${method} ${path}`,
        cause: Object.assign(new Error(`${errno}: ${method} '${path}'`), { code: errno })
      })
    )

  /** Records the call and applies the first matching fault. */
  const gate = (op: FaultOp, method: string, path: string): Effect.Effect<void, PlatformError> =>
    Effect.suspend(() => {
      calls.push({ op, path })
      const mutating = op !== "readFile" && op !== "stat" && op !== "readDirectory" && op !== "open-read"
      if (readOnly && mutating) return fail("EROFS", method, path)
      for (const fault of faults) {
        if (fault.op !== op || (fault.path !== undefined && normalize(fault.path) !== path)) continue
        fault.seen++
        if (fault.seen !== fault.nth && fault.nth !== 0) continue
        return fault.errno === "hang" ? Effect.never : fail(fault.errno, method, path)
      }
      return Effect.void
    })

  const lookup = (path: string, method: string): Effect.Effect<Node, PlatformError> => {
    const node = nodes.get(path)
    return node ? Effect.succeed(node) : fail("ENOENT", method, path)
  }

  const requireParentDirectory = (path: string, method: string): Effect.Effect<void, PlatformError> => {
    const parent = nodes.get(parentOf(path))
    if (!parent) return fail("ENOENT", method, path)
    return parent.type === "Directory" ? Effect.void : fail("ENOTDIR", method, path)
  }

  const info = (node: Node): FileSystem.File.Info => ({
    type: node.type,
    mtime: Option.some(node.mtime),
    atime: Option.some(node.mtime),
    birthtime: Option.some(node.mtime),
    dev: 1,
    ino: Option.some(node.ino),
    mode: node.mode,
    nlink: Option.some(1),
    uid: Option.some(0),
    gid: Option.some(0),
    rdev: Option.none(),
    size: FileSystem.Size(node.type === "File" ? node.data.length : 0),
    blksize: Option.none(),
    blocks: Option.none()
  })

  /** Follows symlinks in every component of a path, as the kernel does (at most 16 hops, then ELOOP). */
  const resolve = (path: string, method: string): Effect.Effect<string, PlatformError> => {
    let pending = normalize(path)
      .split("/")
      .filter((part) => part !== "")
    let resolved = "/"
    let hops = 0
    while (pending.length > 0) {
      const [part = "", ...rest] = pending
      const candidate = normalize(`${resolved}/${part}`)
      const node = nodes.get(candidate)
      if (node?.type === "SymbolicLink") {
        if (++hops > 16) return fail("ELOOP", method, path)
        const target = node.target.startsWith("/") ? node.target : `${resolved}/${node.target}`
        pending = [
          ...normalize(target)
            .split("/")
            .filter((p) => p !== ""),
          ...rest
        ]
        resolved = "/"
        continue
      }
      resolved = candidate
      pending = rest
    }
    return Effect.succeed(resolved)
  }

  /** Resolves every component but the last, for operations on a link itself (remove, rename, readLink). */
  const resolveParent = (path: string, method: string): Effect.Effect<string, PlatformError> => {
    const normalized = normalize(path)
    if (normalized === "/") return Effect.succeed("/")
    const name = normalized.slice(normalized.lastIndexOf("/") + 1)
    return Effect.map(resolve(parentOf(normalized), method), (parent) => normalize(`${parent}/${name}`))
  }

  const writeInto = (node: Extract<Node, { type: "File" }>, position: number, bytes: Uint8Array) => {
    const end = position + bytes.length
    if (end > node.data.length) {
      const grown = new Uint8Array(end)
      grown.set(node.data)
      node.data = grown
    }
    node.data.set(bytes, position)
    node.mtime = new Date()
  }

  const openFile = (rawPath: string, options?: FileSystem.OpenFileOptions) =>
    Effect.gen(function* () {
      const flag = options?.flag ?? "r"
      const writable = flag !== "r"
      const path = yield* resolve(normalize(rawPath), "open")
      yield* gate(writable ? "open" : "open-read", "open", path)
      const existing = nodes.get(path)
      if (existing && flag.includes("x")) return yield* fail("EEXIST", "open", path)
      if (!existing && !writable) return yield* fail("ENOENT", "open", path)
      if (existing?.type === "Directory" && writable) return yield* fail("EISDIR", "open", path)
      let node: Node
      if (existing) {
        node = existing
        if (node.type === "File" && (flag.startsWith("w") || flag.startsWith("wx"))) node.data = new Uint8Array(0)
      } else {
        yield* requireParentDirectory(path, "open")
        node = {
          type: "File",
          data: new Uint8Array(0),
          mode: options?.mode ?? 0o666,
          ino: nextIno++,
          mtime: new Date()
        }
        nodes.set(path, node)
      }
      const fileNode = node
      let position = flag.startsWith("a") && fileNode.type === "File" ? fileNode.data.length : 0
      const fd = FileSystem.FileDescriptor(nextFd++)
      const write = (bytes: Uint8Array) =>
        gate("write", "write", path).pipe(
          Effect.zipRight(
            Effect.suspend(() => {
              if (fileNode.type !== "File") return fail("EISDIR", "write", path)
              writeInto(fileNode, position, bytes)
              position += bytes.length
              return Effect.succeed(FileSystem.Size(bytes.length))
            })
          )
        )
      const file: FileSystem.File = {
        [FileSystem.FileTypeId]: FileSystem.FileTypeId,
        fd,
        stat: Effect.sync(() => info(fileNode)),
        seek: (offset, from) =>
          Effect.sync(() => {
            const size = fileNode.type === "File" ? fileNode.data.length : 0
            position = Number(from === "start" ? offset : BigInt(position) + BigInt(offset))
            if (position > size && fileNode.type === "File") writeInto(fileNode, position, new Uint8Array(0))
          }),
        sync: gate("sync", "sync", path),
        // Reading a directory opened for reading fails as read(2) does on it, with EISDIR.
        read: (buffer) =>
          Effect.suspend(() => {
            if (fileNode.type !== "File") return fail("EISDIR", "read", path)
            const chunk = fileNode.data.subarray(position, position + buffer.length)
            buffer.set(chunk)
            position += chunk.length
            return Effect.succeed(FileSystem.Size(chunk.length))
          }),
        readAlloc: (size) =>
          Effect.suspend(() => {
            if (fileNode.type !== "File") return fail("EISDIR", "read", path)
            const chunk = fileNode.data.slice(position, position + Number(size))
            position += chunk.length
            return Effect.succeed(chunk.length === 0 ? Option.none() : Option.some(chunk))
          }),
        truncate: (length) =>
          gate("write", "truncate", path).pipe(
            Effect.zipRight(
              Effect.sync(() => {
                if (fileNode.type === "File") fileNode.data = fileNode.data.slice(0, Number(length ?? 0))
              })
            )
          ),
        write,
        writeAll: (bytes) => Effect.asVoid(write(bytes))
      }
      return file
    })

  // make() derives exists, stream, sink, readFileString and writeFileString from these, so they share the
  // faults; makeNoop supplies failing stand-ins for what a layout never needs (watch, chown, ...).
  const fileSystem = FileSystem.make({
    ...FileSystem.makeNoop({}),
    access: (path) => Effect.asVoid(lookup(normalize(path), "access")),
    chmod: (rawPath, mode) =>
      Effect.gen(function* () {
        const path = yield* resolve(normalize(rawPath), "chmod")
        yield* gate("chmod", "chmod", path)
        const node = yield* lookup(path, "chmod")
        node.mode = mode
      }),
    makeDirectory: (rawPath, options) =>
      Effect.gen(function* () {
        const path = yield* resolveParent(rawPath, "makeDirectory")
        yield* gate("makeDirectory", "makeDirectory", path)
        const missing: Array<string> = []
        let cursor = path
        while (!nodes.has(cursor)) {
          missing.unshift(cursor)
          if (!options?.recursive) break
          cursor = parentOf(cursor)
        }
        if (missing.length === 0) {
          if (options?.recursive && nodes.get(path)?.type === "Directory") return
          return yield* fail("EEXIST", "makeDirectory", path)
        }
        yield* requireParentDirectory(missing[0] ?? path, "makeDirectory")
        for (const dir of missing) {
          nodes.set(dir, { type: "Directory", mode: options?.mode ?? 0o755, ino: nextIno++, mtime: new Date() })
        }
      }),
    open: openFile,
    readDirectory: (rawPath) =>
      Effect.gen(function* () {
        const path = yield* resolve(normalize(rawPath), "readDirectory")
        yield* gate("readDirectory", "readDirectory", path)
        const node = yield* lookup(path, "readDirectory")
        if (node.type !== "Directory") return yield* fail("ENOTDIR", "readDirectory", path)
        const prefix = path === "/" ? "/" : `${path}/`
        return [...nodes.keys()]
          .filter((key) => key.startsWith(prefix) && key !== path && !key.slice(prefix.length).includes("/"))
          .map((key) => key.slice(prefix.length))
          .sort()
      }),
    readFile: (rawPath) =>
      Effect.gen(function* () {
        const path = yield* resolve(normalize(rawPath), "readFile")
        yield* gate("readFile", "readFile", path)
        const node = yield* lookup(path, "readFile")
        if (node.type !== "File") return yield* fail("EISDIR", "readFile", path)
        return node.data.slice()
      }),
    readLink: (rawPath) =>
      Effect.gen(function* () {
        const node = yield* lookup(yield* resolveParent(rawPath, "readLink"), "readLink")
        return node.type === "SymbolicLink" ? node.target : yield* fail("EIO", "readLink", rawPath)
      }),
    remove: (rawPath, options) =>
      Effect.gen(function* () {
        const path = yield* resolveParent(rawPath, "remove")
        yield* gate("remove", "remove", path)
        const node = yield* lookup(path, "remove")
        const children = [...nodes.keys()].filter((key) => key.startsWith(`${path}/`))
        if (node.type === "Directory" && children.length > 0 && !options?.recursive) {
          return yield* fail("ENOTEMPTY", "remove", path)
        }
        for (const child of children) nodes.delete(child)
        nodes.delete(path)
      }),
    rename: (rawFrom, rawTo) =>
      Effect.gen(function* () {
        const from = yield* resolveParent(rawFrom, "rename")
        const to = yield* resolveParent(rawTo, "rename")
        yield* gate("rename", "rename", to)
        const node = yield* lookup(from, "rename")
        yield* requireParentDirectory(to, "rename")
        if (from === to) return
        const existing = nodes.get(to)
        const childrenOf = (dir: string) => [...nodes.keys()].filter((key) => key.startsWith(`${dir}/`))
        if (node.type === "Directory") {
          if (to.startsWith(`${from}/`)) return yield* fail("EINVAL", "rename", to)
          if (existing && existing.type !== "Directory") return yield* fail("ENOTDIR", "rename", to)
          if (existing && childrenOf(to).length > 0) return yield* fail("ENOTEMPTY", "rename", to)
          for (const child of childrenOf(from)) {
            const moved = nodes.get(child)
            nodes.delete(child)
            if (moved) nodes.set(`${to}${child.slice(from.length)}`, moved)
          }
        } else if (existing?.type === "Directory") {
          return yield* fail("EISDIR", "rename", to)
        }
        nodes.delete(from)
        nodes.set(to, node)
      }),
    stat: (rawPath) =>
      Effect.gen(function* () {
        const path = yield* resolve(normalize(rawPath), "stat")
        yield* gate("stat", "stat", path)
        return info(yield* lookup(path, "stat"))
      }),
    // gc's grace period reads mtimes: tests age a file with utimes, as they would on a disk.
    utimes: (rawPath, _atime, mtime) =>
      Effect.gen(function* () {
        const path = yield* resolve(normalize(rawPath), "utimes")
        const node = yield* lookup(path, "utimes")
        node.mtime = typeof mtime === "number" ? new Date(mtime * 1000) : mtime
      }),
    symlink: (target, rawPath) =>
      Effect.gen(function* () {
        const path = yield* resolveParent(rawPath, "symlink")
        yield* gate("symlink", "symlink", path)
        if (nodes.has(path)) return yield* fail("EEXIST", "symlink", path)
        yield* requireParentDirectory(path, "symlink")
        nodes.set(path, { type: "SymbolicLink", target, mode: 0o777, ino: nextIno++, mtime: new Date() })
      }),
    writeFile: (rawPath, data, options) =>
      Effect.scoped(
        Effect.flatMap(openFile(rawPath, { flag: options?.flag ?? "w", mode: options?.mode ?? 0o666 }), (file) =>
          file.writeAll(data)
        )
      )
  })

  /** Creates `dir` and its missing parents directly (0755), as `mkdir -p` would, bypassing faults. */
  const ensureDirectory = (dir: string): void => {
    const missing: Array<string> = []
    for (let current = dir; !nodes.has(current); current = parentOf(current)) missing.unshift(current)
    for (const path of missing) nodes.set(path, { type: "Directory", mode: 0o755, ino: nextIno++, mtime: new Date() })
  }

  return {
    fileSystem,
    files: () => {
      const out: Record<string, Uint8Array> = {}
      for (const [path, node] of nodes) if (node.type === "File") out[path] = node.data.slice()
      return out
    },
    readText: (path) => {
      const node = nodes.get(normalize(path))
      return node?.type === "File" ? new TextDecoder().decode(node.data) : undefined
    },
    writeText: (path, text, mode = 0o644) => {
      const normalized = normalize(path)
      ensureDirectory(parentOf(normalized))
      nodes.set(normalized, {
        type: "File",
        data: typeof text === "string" ? new TextEncoder().encode(text) : text.slice(),
        mode,
        ino: nextIno++,
        mtime: new Date()
      })
    },
    makeDirectory: (path) => ensureDirectory(normalize(path)),
    mode: (path) => nodes.get(normalize(path))?.mode,
    inject: (op, errno, options) => {
      faults.push({ op, errno, nth: options?.nth ?? 0, path: options?.path, seen: 0 })
    },
    setReadOnly: (value) => {
      readOnly = value
    },
    clearFaults: () => {
      faults = []
      readOnly = false
    },
    calls: () => calls.slice()
  }
}
