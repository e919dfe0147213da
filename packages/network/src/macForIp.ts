import { ipToInt, stripPrefix } from "./cidr.ts";

/**
 * macForIp derives docker's MAC address for an IPv4 address: the locally administered prefix 02:42
 * followed by the four octets of the address, "10.88.1.2" -> "02:42:0a:58:01:02".
 */
export function macForIp(ip: string): string {
  const n = ipToInt(stripPrefix(ip));
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
