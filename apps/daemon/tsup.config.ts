import { defineConfig } from "tsup";

// berthd ships as one bundled file: workspace packages are inlined from source.
export default defineConfig({
  // layer-worker: @berth/image's layer worker thread (pull), found beside berthd.js at run time;
  // build-worker: @berth/builder's background layer store thread, found the same way.
  entry: {
    berthd: "src/main.ts",
    "layer-worker": "../../packages/image/src/layerWorker.ts",
    "build-worker": "../../packages/builder/src/storeWorker.ts",
  },
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  splitting: false,
  noExternal: [/^@berth\//],
  // Native addon: loaded from node_modules at run time, never bundled.
  external: ["node-unix-socket"],
  // Bundled CommonJS dependencies (tar-stream) call require(): give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["source"];
  },
});
