import { defineProject } from "vitest/config"

// Tests import the workspace packages' TypeScript sources through the "@ocidx/source" export condition;
// the end-to-end tests spawn the bundle, which the global setup builds when it is missing or stale.
export default defineProject({
  resolve: { conditions: ["@ocidx/source"] },
  ssr: { resolve: { conditions: ["@ocidx/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
