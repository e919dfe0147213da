// Run inside a test network namespace: a TCP server on :9000 that answers sha256(all bytes received)
// once the client half-closes, and a UDP echo on :9001. Prints "ready" when both listen.
import { createHash } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";

const tcp = net.createServer({ allowHalfOpen: true }, (s) => {
  const h = createHash("sha256");
  s.on("data", (c) => h.update(c));
  s.on("end", () => s.end(h.digest("hex")));
  s.on("error", () => {});
});
const udp = dgram.createSocket("udp4");
udp.on("message", (m, r) => udp.send(Buffer.concat([Buffer.from("echo:"), m]), r.port, r.address));
tcp.listen(9000, "0.0.0.0", () => {
  udp.bind(9001, "0.0.0.0", () => process.stdout.write("ready\n"));
});
