const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * quoteGo is Go's `strconv.Quote`: a double-quoted string with Go escapes, printable runes kept as
 * they are. Lone surrogates U+DC80..U+DCFF stand for undecodable bytes (see `decodeSource`) and
 * come out as `\xNN`, as Go writes invalid UTF-8.
 */
export function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") {
      out += `\\${ch}`;
    } else if (cp >= 0xdc80 && cp <= 0xdcff) {
      out += `\\x${hex(cp - 0xdc00, 2)}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += "\\ufffd";
    } else if (PRINTABLE.test(ch)) {
      out += ch;
    } else {
      switch (ch) {
        case "\x07":
          out += "\\a";
          break;
        case "\b":
          out += "\\b";
          break;
        case "\f":
          out += "\\f";
          break;
        case "\n":
          out += "\\n";
          break;
        case "\r":
          out += "\\r";
          break;
        case "\t":
          out += "\\t";
          break;
        case "\v":
          out += "\\v";
          break;
        default:
          if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
          else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
          else out += `\\U${hex(cp, 8)}`;
      }
    }
  }
  return `${out}"`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}
