import { defineConfig } from "vitest/config";

// Workspace packages export their TypeScript sources under the "source"
// condition, so tests run against src/ without a build step.
const conditions = ["source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "packages/*/src/**/*.test.ts",
            "packages/*/test/**/*.test.ts",
            "apps/*/src/**/*.test.ts",
            "apps/*/test/**/*.test.ts",
          ],
          exclude: ["**/*.integration.test.ts", "**/node_modules/**"],
        },
      },
      // Integration tests need root, runc, conmon and overlayfs; BERTH_INTEGRATION=0 leaves them out
      // (for a quick unit-only run on a machine without them).
      ...(process.env.BERTH_INTEGRATION !== "0"
        ? [
            {
              extends: true as const,
              test: {
                name: "integration",
                include: [
                  "packages/*/test/**/*.integration.test.ts",
                  "packages/*/src/**/*.integration.test.ts",
                  "apps/*/test/**/*.integration.test.ts",
                  "test/**/*.integration.test.ts",
                ],
                exclude: ["**/node_modules/**"],
                fileParallelism: false,
                globalSetup: ["apps/daemon/test/buildApps.globalSetup.ts"],
              },
            },
          ]
        : []),
    ],
  },
});
