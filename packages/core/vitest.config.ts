import { defineProject } from "vitest/config"

// Tests import the workspace packages' TypeScript sources through the "@ocidx/source" export condition,
// so the suite needs no build first.
export default defineProject({
  resolve: { conditions: ["@ocidx/source"] },
  ssr: { resolve: { conditions: ["@ocidx/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
