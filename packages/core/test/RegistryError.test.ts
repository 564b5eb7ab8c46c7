import { describe, expect, it } from "@effect/vitest"
import { RegistryError } from "@ocidx/core/Errors"

describe("RegistryError.message", () => {
  it("quotes the registry only when the registry sent an error code", () => {
    const refused = new RegistryError({
      registry: "127.0.0.1:5099",
      reason: "unavailable",
      request: "GET http://127.0.0.1:5099/v2/a/manifests/v1",
      detail: "the connection failed (ECONNREFUSED)"
    })
    expect(refused.message).toBe(
      "127.0.0.1:5099: the registry cannot be reached, or kept failing after the retries. Check the address and that it is up. The connection failed (ECONNREFUSED). (GET http://127.0.0.1:5099/v2/a/manifests/v1)"
    )
    const unknown = new RegistryError({
      registry: "r.test",
      reason: "not-found",
      request: "GET https://r.test/v2/a/manifests/nope",
      status: 404,
      code: "MANIFEST_UNKNOWN",
      detail: "manifest unknown"
    })
    expect(unknown.message).toBe(
      "r.test: not found: check the repository, tag or digest. The registry said: MANIFEST_UNKNOWN: manifest unknown. (GET https://r.test/v2/a/manifests/nope → 404)"
    )
  })

  it("keeps a registry's control characters out of the one line", () => {
    const error = new RegistryError({ registry: "r.test", reason: "protocol", code: "X", detail: "a\nb\u001b[31m" })
    expect(error.message.includes("\n")).toBe(false)
    expect(error.message.includes("\u001b")).toBe(false)
  })
})
