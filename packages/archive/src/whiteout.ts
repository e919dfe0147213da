/** WHITEOUT_PREFIX marks a deleted path in an OCI/AUFS layer: `.wh.name` deletes `name`. */
export const WHITEOUT_PREFIX = ".wh.";
/** WHITEOUT_META_PREFIX starts whiteout metadata names (`.wh..wh.*`), never materialised as files. */
export const WHITEOUT_META_PREFIX = ".wh..wh.";
/** WHITEOUT_OPAQUE_DIR in a directory hides every lower-layer child of that directory. */
export const WHITEOUT_OPAQUE_DIR = ".wh..wh..opq";
