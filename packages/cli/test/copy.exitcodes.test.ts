/**
 * The exit codes and messages of what copy, pull and push fail with (DESIGN.md "Exit codes"): each
 * RegistryError reason, ImageNotFound, and the one line printed, which names the registry and what to do.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageNotFound, RegistryError, RegistryReason } from "@ocidx/core/Errors"
import { Option } from "effect"
import * as ExitCode from "../src/ExitCode.js"

const registryError = (reason: RegistryReason) =>
  new RegistryError({
    registry: "registry.example.com",
    reason,
    request: "GET https://registry.example.com/v2/team/app/manifests/v1",
    status: 500
  })

describe("exit codes of moving images", () => {
  it("each RegistryError reason has the code DESIGN.md gives it", () => {
    const codes: Record<RegistryReason, number> = {
      unauthorized: 77,
      denied: 77,
      "not-found": 1,
      "digest-mismatch": 65,
      "rate-limited": 75,
      unavailable: 69,
      protocol: 76,
      "too-large": 65
    }
    for (const reason of RegistryReason.literals) {
      expect(ExitCode.fromFailure(registryError(reason)), reason).toBe(codes[reason])
    }
  })

  it("a registry failure is one line naming the registry; only a failed TLS handshake names the TLS flags", () => {
    const message = Option.getOrThrow(ExitCode.messageOf(registryError("unavailable")))
    expect(message.split("\n")).toHaveLength(1)
    expect(message).toMatch(/^registry\.example\.com: the registry cannot be reached/)
    // A refused connection is not a certificate problem: no TLS advice for it.
    expect(message).not.toContain("--ca-file")
    const tls = new RegistryError({
      registry: "registry.example.com",
      reason: "unavailable",
      detail:
        "the TLS handshake failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE): the registry's certificate is not trusted here, or it does not speak TLS",
      tls: true
    })
    const tlsMessage = Option.getOrThrow(ExitCode.messageOf(tls))
    expect(tlsMessage.split("\n")).toHaveLength(1)
    expect(tlsMessage).toContain("--ca-file")
    expect(tlsMessage).toContain("--insecure")
    expect(Option.getOrThrow(ExitCode.messageOf(registryError("unauthorized")))).toContain("ocidx login")
  })

  it("ImageNotFound is 1; a missing name in a layout points at ocidx ls", () => {
    const noEntry = new ImageNotFound({ location: "oci:app", reason: "no-entry", detail: 'no entry is named "x".' })
    expect(ExitCode.fromFailure(noEntry)).toBe(1)
    expect(Option.getOrThrow(ExitCode.messageOf(noEntry))).toBe(
      'oci:app: no entry is named "x". List the entries with `ocidx ls`.'
    )
    const platform = new ImageNotFound({
      location: "docker://registry.example.com/team/app:v1",
      reason: "no-platform",
      detail: "the index sha256:ab has no manifest for linux/s390x."
    })
    expect(ExitCode.fromFailure(platform)).toBe(1)
    expect(Option.getOrThrow(ExitCode.messageOf(platform))).toBe(
      "docker://registry.example.com/team/app:v1: the index sha256:ab has no manifest for linux/s390x."
    )
  })
})
