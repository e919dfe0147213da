#!/usr/bin/env bash
# Scaffolds packages/<name> with the project's package conventions.
# usage: scripts/new-package.sh NAME "description" [dep ...]
set -euo pipefail
name=$1; desc=$2; shift 2
dir=packages/$name
mkdir -p "$dir/src" "$dir/test"
deps=""
refs=""
for d in "$@"; do
  deps="$deps\"@berth/$d\": \"workspace:*\","
  refs="$refs{ \"path\": \"../$d\" },"
done
deps=${deps%,}; refs=${refs%,}
cat > "$dir/package.json" <<JSON
{
  "name": "@berth/$name",
  "version": "0.1.0",
  "description": "$desc",
  "type": "module",
  "license": "Apache-2.0",
  "exports": {
    ".": { "source": "./src/index.ts", "types": "./dist/index.d.ts", "import": "./dist/index.js" },
    "./internal/*": null
  },
  "files": ["dist"],
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc -p tsconfig.json"
  },
  "dependencies": { $deps }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test"],
  "references": [ $refs ]
}
JSON
cat > "$dir/tsup.config.ts" <<'TS'
import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "node20",
  esbuildOptions(options) {
    options.conditions = ["source"];
  },
});
TS
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
