import { defineConfig } from "tsup";

// berth ships as one bundled file so that it starts fast: workspace packages are
// inlined from source, rarely used commands are split into lazily imported chunks.
export default defineConfig({
  entry: { berth: "src/main.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  splitting: true,
  noExternal: [/^@berth\//],
  // Bundled CommonJS dependencies (tar-stream) call require(): give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["source"];
  },
});
