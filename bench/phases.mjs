// Engine-side phases of `run --rm busybox true`, measured from a raw Engine API client (no CLI):
// create, start, then start-response -> wait(condition=removed) response (exit, teardown, --rm).
// usage: node bench/phases.mjs SOCKET [RUNS]   (a daemon with busybox:latest imported)
import http from "node:http";

const [socketPath, runsArg = "10"] = process.argv.slice(2);
if (!socketPath) throw new Error("usage: phases.mjs SOCKET [RUNS]");

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: `/v1.41${path}`,
        headers: data
          ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) }
          : {},
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const rows = [];
for (let i = 0; i < Number(runsArg) + 2; i++) {
  const t0 = now();
  const { Id } = await call("POST", "/containers/create", {
    Image: "busybox",
    Cmd: ["true"],
    HostConfig: { AutoRemove: true, NetworkMode: "none" },
  });
  const t1 = now();
  const waited = call("POST", `/containers/${Id}/wait?condition=removed`);
  await call("POST", `/containers/${Id}/start`);
  const t2 = now();
  await waited;
  const t3 = now();
  if (i >= 2) rows.push([t1 - t0, t2 - t1, t3 - t2, t3 - t0]); // first two are warm-up
}
const med = (k) => {
  const s = rows.map((r) => r[k]).sort((a, b) => a - b);
  return s[s.length >> 1].toFixed(1);
};
console.log(
  `${socketPath}: median of ${rows.length} (ms): create ${med(0)}, start ${med(1)}, exit+teardown+remove ${med(2)}, total ${med(3)}`,
);
