import { describe, expect, it } from "@effect/vitest"
import {
  BlobNotFound,
  CredentialError,
  CredentialReason,
  DecodeError,
  DigestMismatch,
  GraphError,
  ImageNotFound,
  InvalidReference,
  LockError,
  ReadError,
  UnreadableManifest,
  WriteError
} from "@ocidx/core/Errors"
import { Cause, FiberId, Option } from "effect"
import { BrokenPipe, InvalidInput, NotFound, UsageError, UsageReported, VerifyFailed } from "../src/CliError.js"
import * as ExitCode from "../src/ExitCode.js"

describe("ExitCode", () => {
  const cases: ReadonlyArray<readonly [string, ExitCode.Failure, number]> = [
    ["NotFound", new NotFound({ message: "x" }), 1],
    ["BlobNotFound", new BlobNotFound({ path: "/l/blobs/sha256/ab", digest: "sha256:ab" }), 1],
    ["VerifyFailed", new VerifyFailed({ errors: 2, lockBusy: false }), 1],
    ["VerifyFailed (lock busy)", new VerifyFailed({ errors: 1, lockBusy: true }), 75],
    ["UsageError", new UsageError({ message: "x" }), 2],
    ["DecodeError", new DecodeError({ path: "/l/index.json", reason: "json", detail: "d", issues: [] }), 65],
    ["InvalidReference", new InvalidReference({ value: "a..b", problem: "p" }), 65],
    [
      "DigestMismatch",
      new DigestMismatch({ path: "/l/blobs/sha256/ab", expectedDigest: "sha256:ab", actualSize: 3 }),
      65
    ],
    [
      "UnreadableManifest",
      new UnreadableManifest({ path: "/l/blobs/sha256/ab", digest: "sha256:ab", operation: "gc", cause: "c" }),
      65
    ],
    ["ImageNotFound", new ImageNotFound({ location: "oci:/l", reason: "no-entry", detail: "d" }), 1],
    ["InvalidInput", new InvalidInput({ message: "x" }), 65],
    ["ReadError", new ReadError({ path: "/l/index.json", reason: "permission" }), 74],
    ["WriteError", new WriteError({ path: "/l/index.json", reason: "no-space" }), 74],
    ["LockError timeout", new LockError({ path: "/l/index.json.lock", reason: "timeout" }), 75],
    ["LockError read-only", new LockError({ path: "/l/index.json.lock", reason: "read-only" }), 74],
    ["LockError permission", new LockError({ path: "/l/index.json.lock", reason: "permission" }), 74],
    ["BrokenPipe", new BrokenPipe(), 141]
  ]

  for (const [name, failure, code] of cases) {
    it(`${name} exits ${code}`, () => {
      expect(ExitCode.fromFailure(failure)).toBe(code)
      const outcome = ExitCode.fromCause(Cause.fail(failure))
      expect(outcome.code).toBe(code)
      if (failure._tag === "BrokenPipe") expect(Option.isNone(outcome.message)).toBe(true)
      // The CLI may add a hint after core's message (see below), never replace it.
      else expect(Option.getOrThrow(outcome.message).startsWith(failure.message)).toBe(true)
    })
  }

  it("core's messages speak library terms; the CLI adds its flags and commands where they help", () => {
    const hinted: ReadonlyArray<readonly [ExitCode.Failure, string]> = [
      [new LockError({ path: "/l/index.json.lock", reason: "timeout" }), "Raise --lock-timeout to wait longer."],
      [new LockError({ path: "/l/index.json.lock", reason: "not-found" }), "Create it with `ocidx init`."],
      [new ReadError({ path: "/l", reason: "not-found" }), "A new layout is created with `ocidx init`."],
      [new WriteError({ path: "/l/index.json", reason: "not-found" }), "A new layout is created with `ocidx init`."],
      [new BlobNotFound({ path: "/l/blobs/sha256/ab", digest: "sha256:ab" }), "`ocidx blob put` adds a blob."],
      [
        new UnreadableManifest({ path: "/l/blobs/sha256/ab", digest: "sha256:ab", operation: "gc", cause: "c" }),
        "Pass --force to collect anyway."
      ],
      [
        new UnreadableManifest({ path: "/l/blobs/sha256/ab", digest: "sha256:ab", operation: "prune", cause: "c" }),
        "Pass --force to collect anyway."
      ]
    ]
    for (const [failure, hint] of hinted) {
      expect(failure.message).not.toMatch(/--|`ocidx/)
      expect(ExitCode.messageOf(failure)).toEqual(Option.some(`${failure.message} ${hint}`))
    }
    const plain = new ReadError({ path: "/l/index.json", reason: "permission" })
    expect(ExitCode.messageOf(plain)).toEqual(Option.some(plain.message))
  })

  it("a CredentialError's code follows its reason: io 74, invalid 65, a helper or no config.json 77", () => {
    const codes: Record<CredentialReason, number> = { io: 74, invalid: 65, helper: 77, "no-config": 77 }
    for (const reason of CredentialReason.literals) {
      const error = new CredentialError({ registry: "ghcr.io", operation: "store", reason, source: "s", detail: "d" })
      expect(ExitCode.fromFailure(error), reason).toBe(codes[reason])
    }
    // The code is the reason's, whatever the cause: a helper that failed to read its own file is still 77.
    const helper = new CredentialError({
      registry: "ghcr.io",
      operation: "get",
      reason: "helper",
      source: "docker-credential-x",
      detail: "d",
      cause: new ReadError({ path: "/x", reason: "permission" })
    })
    expect(ExitCode.fromFailure(helper)).toBe(77)
  })

  it("a hint names only flags the command that failed has", () => {
    const unreadable = (operation: "gc" | "prune" | "sizes" | "reachable") =>
      new UnreadableManifest({ path: "/l/blobs/sha256/ab", digest: "sha256:ab", operation, cause: "c" })
    // ls --sizes fails on an unreadable manifest too, and has no --force.
    expect(ExitCode.hintOf(unreadable("sizes"), "ls")).toBeUndefined()
    expect(ExitCode.hintOf(unreadable("reachable"))).toBeUndefined()
    expect(ExitCode.hintOf(unreadable("gc"), "gc")).toBe("Pass --force to collect anyway.")
    const tooDeep = new GraphError({ path: "/l/index.json", reason: "too-deep", digests: ["sha256:ab"] })
    for (const command of ["get", "cat", "ls", "verify", "copy", undefined]) {
      expect(ExitCode.hintOf(tooDeep, command), String(command)).toBeUndefined()
      expect(ExitCode.fromCause(Cause.fail(tooDeep), command)).toEqual({
        code: 65,
        message: Option.some(tooDeep.message)
      })
    }
    for (const command of ["gc", "prune"]) {
      expect(ExitCode.messageOf(tooDeep, command)).toEqual(
        Option.some(`${tooDeep.message} Pass --force to collect anyway.`)
      )
    }
  })

  it("a usage error is exit 2, and not printed again (@effect/cli printed it)", () => {
    const error = new UsageReported()
    expect(ExitCode.fromFailure(error)).toBe(2)
    expect(ExitCode.fromCause(Cause.fail(error))).toEqual({ code: 2, message: Option.none() })
  })

  it("a defect is exit 70 with the cause and a request for a bug report", () => {
    const outcome = ExitCode.fromCause(Cause.die(new Error("boom")))
    expect(outcome.code).toBe(70)
    const message = Option.getOrThrow(outcome.message)
    expect(message).toContain("internal error")
    expect(message).toContain("boom")
    expect(message).toContain("Please report a bug")
  })

  it("a defect beside a failure is still a defect", () => {
    const cause = Cause.parallel(Cause.fail(new NotFound({ message: "x" })), Cause.die("bad"))
    expect(ExitCode.fromCause(cause).code).toBe(70)
  })

  it("interruption is 130 (bin.ts reports 143 for SIGTERM)", () => {
    expect(ExitCode.fromCause(Cause.interrupt(FiberId.none)).code).toBe(130)
  })
})
