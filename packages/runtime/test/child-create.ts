// Used by runtime.integration.test.ts: bundled to plain JS, run as a separate
// Node process that creates and starts a container and then exits, to show the
// container (and its conmon) outlive the process that made it.
import { mkdir } from "node:fs/promises";
import { buildSpec, Runtime } from "../src/index.ts";

const [stateRoot, runcRoot, bundle, rootfs, id, cgroupsPath] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const rt = new Runtime({ stateRoot, runcRoot, logger: { warn: () => {} } });
await mkdir(bundle, { recursive: true });
const spec = buildSpec({ rootfs, args: ["sh", "-c", "echo up; while :; do sleep 1; done"], cgroupsPath });
const r = await rt.create(id, { bundle, spec, logPath: `${bundle}/ctr.log` });
await rt.start(id);
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(0);
