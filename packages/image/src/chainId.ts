import { type Digest, sha256 } from "@berth/oci";

/**
 * chainIds computes the OCI chain IDs of a stack of layer diff IDs, bottom
 * first: `chain[0] = diff[0]`, `chain[n] = sha256(chain[n-1] + " " + diff[n])`.
 * A chain ID names a layer *together with everything below it*, which is what
 * an unpacked snapshot is.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}
