import { describe, expect, it } from "@effect/vitest"
import * as IndexLock from "@ocidx/core/IndexLock"
import type { Layout } from "@ocidx/core/Layout"
import type { MemoryFileSystem } from "@ocidx/core/testing"
import { Duration, Effect } from "effect"
import type { Store } from "../src/Store.js"
import { ocidxInMemory } from "./support/memory.js"

const layoutWithBlobs = (count: number) => (memory: MemoryFileSystem) => {
  memory.writeText("/l/oci-layout", '{"imageLayoutVersion":"1.0.0"}')
  memory.writeText("/l/index.json", '{"schemaVersion":2,"manifests":[]}')
  for (let i = 0; i < count; i++) memory.writeText(`/l/blobs/sha256/${i.toString(16).padStart(64, "0")}`, `blob ${i}`)
}

const withLayout =
  (f: (layout: Layout) => Layout) =>
  (store: Store): Store => ({
    layout: (directory) => Effect.map(store.layout(directory), f)
  })

describe("Cli (in memory)", () => {
  it.live("a defect is exit 70, printed once with a request for a bug report", () =>
    Effect.gen(function* () {
      const result = yield* ocidxInMemory(["ls", "/l"], {
        wrapStore: () => ({ layout: () => Effect.dieMessage("the store exploded") })
      })
      expect(result.code).toBe(70)
      expect(result.stdout).toBe("")
      expect(result.stderr.match(/internal error/g)).toHaveLength(1)
      expect(result.stderr).toContain("the store exploded")
      expect(result.stderr).toContain("Please report a bug")
    })
  )

  it.live("a defect inside a command is exit 70 too", () =>
    Effect.gen(function* () {
      const result = yield* ocidxInMemory(["verify", "/l"], {
        setup: layoutWithBlobs(0),
        wrapStore: withLayout((layout) => ({ ...layout, verify: () => Effect.die(new TypeError("x is undefined")) }))
      })
      expect(result.code).toBe(70)
      expect(result.stderr).toContain("x is undefined")
    })
  )

  it.live("the lock timeout is the command's, else the global one, else 30s", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      // The timeout in force where the layout is used, as the lock reads it.
      const wrapStore = (store: Store): Store => ({
        layout: (directory) =>
          Effect.flatMap(IndexLock.CurrentLockTimeout, (timeout) => {
            seen.push(Duration.toMillis(timeout))
            return store.layout(directory)
          })
      })
      const setup = layoutWithBlobs(0)
      expect((yield* ocidxInMemory(["ls", "/l"], { setup, wrapStore })).code).toBe(0)
      expect((yield* ocidxInMemory(["--lock-timeout", "2m", "ls", "/l"], { setup, wrapStore })).code).toBe(0)
      expect((yield* ocidxInMemory(["ls", "/l", "--lock-timeout", "500ms"], { setup, wrapStore })).code).toBe(0)
      expect(
        (yield* ocidxInMemory(["--lock-timeout", "2m", "ls", "--lock-timeout=0", "/l"], { setup, wrapStore })).code
      ).toBe(0)
      expect(seen).toEqual([30_000, 120_000, 500, 0])
    })
  )

  it.live("help goes to stdout, styled only when the stream wants colours", () =>
    Effect.gen(function* () {
      const plain = yield* ocidxInMemory(["put", "--help"])
      expect(plain.code).toBe(0)
      expect(plain.stdout).toContain("\nocidx put [--digest algorithm:hex]")
      expect(plain.stdout).not.toContain("\u001b[")
      expect(plain.stdout).not.toContain("$ ")
      const styled = yield* ocidxInMemory(["put", "--help"], { colors: true })
      expect(styled.stdout).toContain("\u001b[")
      expect(styled.stdout).toContain("ocidx put [--digest algorithm:hex]")
    })
  )

  it.live("usage errors go to stderr, once, and exit 2", () =>
    Effect.gen(function* () {
      const missing = yield* ocidxInMemory(["ls"], { colors: true })
      expect(missing).toMatchObject({ code: 2, stdout: "" })
      expect(missing.stderr.split("Missing argument <dir>")).toHaveLength(2)
      const unknown = yield* ocidxInMemory(["frob", "--help"])
      expect(unknown).toEqual({
        code: 2,
        stdout: "",
        stderr: "ocidx: unknown command 'frob'; run 'ocidx --help' to see the commands\n"
      })
    })
  )

  it.live("the lock itself waits as long as --lock-timeout says", () =>
    Effect.gen(function* () {
      const setup = layoutWithBlobs(0)
      const heldLock = { lockPath: "/l/index.json.lock", mode: "exclusive" } as const
      const atOnce = yield* ocidxInMemory(["ls", "/l", "--lock-timeout", "0"], { setup, heldLock })
      expect(atOnce.code).toBe(75)
      expect(atOnce.stderr).toContain("/l/index.json.lock")
      const global = yield* ocidxInMemory(["--lock-timeout", "50ms", "ls", "/l"], { setup, heldLock })
      expect(global.code).toBe(75)
      // Without a timeout the lock waits its 30 s: still waiting after a while.
      const waiting = yield* ocidxInMemory(["ls", "/l"], { setup, heldLock }).pipe(
        Effect.timeout("1 second"),
        Effect.flip
      )
      expect(waiting._tag).toBe("TimeoutException")
    })
  )

  it.live("verify and gc draw progress on a terminal, and clear it", () =>
    Effect.gen(function* () {
      const verify = yield* ocidxInMemory(["verify", "/l"], {
        setup: layoutWithBlobs(3),
        errIsTTY: true,
        wrapStore: withLayout((layout) => ({
          ...layout,
          verify: (options) =>
            Effect.gen(function* () {
              for (let done = 1; done <= 3; done++) yield* options?.onProgress?.(done, 3) ?? Effect.void
              return { ok: true, findings: [], blobsChecked: 3, bytesChecked: 21 }
            })
        }))
      })
      expect(verify.code).toBe(0)
      expect(verify.stderr).toContain("\r\u001b[Kverifying blobs 1/3")
      expect(verify.stderr).toContain("verifying blobs 3/3")
      expect(verify.stderr.endsWith("\r\u001b[K")).toBe(true)
      expect(verify.stdout).toBe("/l: ok, 3 blobs (21 B) checked\n")

      const gc = yield* ocidxInMemory(["gc", "/l", "--grace", "0"], { setup: layoutWithBlobs(3), errIsTTY: true })
      expect(gc.code).toBe(0)
      expect(gc.stderr).toContain("removing blobs 3/3")
      expect(gc.stdout).toContain("removed 3 blobs")
    })
  )

  it.live("no progress when standard error is not a terminal", () =>
    Effect.gen(function* () {
      const gc = yield* ocidxInMemory(["gc", "/l", "--dry-run", "--grace", "0"], {
        setup: layoutWithBlobs(3),
        errIsTTY: false
      })
      expect(gc.code).toBe(0)
      expect(gc.stderr).toBe("")
      expect(gc.stdout).toContain("would remove 3 blobs")
    })
  )

  it.live("blob put of a large file shows the bytes written on a terminal", () =>
    Effect.gen(function* () {
      const big = new Uint8Array(33 * 1024 * 1024).fill(7)
      const result = yield* ocidxInMemory(["blob", "put", "/l", "/big.bin"], {
        setup: (memory) => {
          layoutWithBlobs(0)(memory)
          memory.writeText("/big.bin", big)
        },
        errIsTTY: true
      })
      expect(result.code).toBe(0)
      expect(result.stderr).toContain("blob put ")
      expect(result.stderr).toContain(" / 33.0 MiB")
      expect(JSON.parse(result.stdout)).toMatchObject({ size: big.length })
    })
  )
})
