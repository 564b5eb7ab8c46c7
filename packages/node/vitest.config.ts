import { defineProject } from "vitest/config"

// Tests import the workspace packages' TypeScript sources through the "@ocidx/source" export condition,
// so the suite needs no build first.
export default defineProject({
  resolve: { conditions: ["@ocidx/source"] },
  ssr: { resolve: { conditions: ["@ocidx/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Bundles the child-process programs of the multi-process tests once per run (Node 20 cannot run .ts).
    globalSetup: ["test/support/bundle.ts"],
    // Real processes and real disks: on a shared, busy machine a test can take several times as long. The
    // limit only guards against a hang; no test asserts how long anything takes.
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
