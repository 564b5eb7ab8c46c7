import { defineProject } from "vitest/config"

// Tests import the workspace packages' TypeScript sources through the "@ocidx/source" export condition,
// so the suite needs no build first.
export default defineProject({
  resolve: { conditions: ["@ocidx/source"] },
  ssr: { resolve: { conditions: ["@ocidx/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Property tests and large streams take several times as long on a shared, busy machine. The limit only
    // guards against a hang; no test asserts how long anything takes.
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
