import { defineProject } from "vitest/config"

// Tests import the workspace packages' TypeScript sources through the "@ocidx/source" export condition;
// the end-to-end tests spawn the bundle, which the global setup builds when it is missing or stale.
export default defineProject({
  resolve: { conditions: ["@ocidx/source"] },
  ssr: { resolve: { conditions: ["@ocidx/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    // End-to-end tests start real processes, dozens per test: on a shared, busy machine each start can take
    // a second or more. The limit only guards against a hang; no test asserts how long anything takes.
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
