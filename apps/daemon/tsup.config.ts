import { defineConfig } from "tsup";

// berthd ships as one bundled file: workspace packages are inlined from source.
export default defineConfig({
  entry: { berthd: "src/main.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  splitting: false,
  noExternal: [/^@berth\//],
  esbuildOptions(options) {
    options.conditions = ["source"];
  },
});
