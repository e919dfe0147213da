import { defineConfig } from "tsup";

// berth ships as one bundled file so that it starts fast: workspace packages and the pure-JS
// dependencies (yaml, ajv's runtime) are inlined from source (loading yaml through Node's CommonJS
// loader cost ~50 ms of CPU per compose command), rarely used commands are split into lazily
// imported chunks.
export default defineConfig({
  entry: { berth: "src/main.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  splitting: true,
  noExternal: [/^@berth\//, "yaml", /^ajv/],
  // Bundled CommonJS dependencies (tar-stream) call require(): give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["source"];
  },
});
