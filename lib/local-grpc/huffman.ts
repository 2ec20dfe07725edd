/**
 * HPACK's Huffman code (RFC 7541, Appendix B), decoding only: this client sends its few header
 * strings raw, but the daemon's HTTP/2 stack (nghttp2) Huffman-codes what it sends. The code is
 * canonical — codes of one length are consecutive, in symbol order — so the bit length of each
 * of the 257 symbols (256 octets and EOS) is all the table needs.
 */
const CODE_BITS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28,
  28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6,
  5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23,
  22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22,
  23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26,
  20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27,
  27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27,
  27, 27, 27, 26, 30,
];
const EOS = 256;
const CODE_BITS_MAX = 30;

/** Per code length: the first code, how many codes, and where their symbols start in SYMBOLS. */
const firstCode: number[] = [];
const codeCount: number[] = new Array<number>(CODE_BITS_MAX + 1).fill(0);
const firstSymbol: number[] = [];
const SYMBOLS: number[] = [...CODE_BITS.keys()].sort((a, b) => CODE_BITS[a]! - CODE_BITS[b]! || a - b);
for (const bits of CODE_BITS) codeCount[bits]!++;
for (let bits = 1, code = 0, index = 0; bits <= CODE_BITS_MAX; bits++) {
  code = (code + codeCount[bits - 1]!) << 1;
  firstCode[bits] = code;
  firstSymbol[bits] = index;
  index += codeCount[bits]!;
}

export class HuffmanError extends Error {}

/** Decodes a Huffman-coded string's octets; refuses EOS inside and padding that is not 1s (RFC 7541 §5.2). */
export function huffmanDecode(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let written = 0;
  let code = 0;
  let bits = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      bits++;
      const offset = code - firstCode[bits]!;
      if (offset >= 0 && offset < codeCount[bits]!) {
        const symbol = SYMBOLS[firstSymbol[bits]! + offset]!;
        if (symbol === EOS) throw new HuffmanError('EOS inside a Huffman-coded string');
        out[written++] = symbol;
        code = 0;
        bits = 0;
      } else if (bits >= CODE_BITS_MAX) throw new HuffmanError('invalid Huffman code');
    }
  }
  if (bits > 7 || code !== (1 << bits) - 1) throw new HuffmanError('invalid Huffman padding');
  return out.subarray(0, written);
}
