import { defineConfig } from "vitest/config";

// One runner for the whole workspace: unit tests live next to the code,
// integration and end-to-end tests under tests/. Packages import each other
// through their built `dist/`, so `pnpm test` builds first.
export default defineConfig({
  test: {
    include: [
      "proto/src/**/*.test.ts",
      "packages/*/src/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "tools/*/src/**/*.test.ts",
      "tests/*/src/**/*.test.ts",
      "bench/src/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
