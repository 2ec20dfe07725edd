import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderField } from './hpack.js';
import { huffmanDecode, HuffmanError } from './huffman.js';

// Header blocks as an independent HPACK encoder (python-hyper's hpack 4.2.0, Huffman on, a
// 256-byte dynamic table so the fourth block evicts) writes them; decoded in order by one
// decoder, as a connection's blocks are.
const BLOCKS: { hex: string; fields: HeaderField[] }[] = [
  {
    hex:
      '3fe101885f8b1d75d0620d263d4c4d6564408e9acac8b0c842d6958b510f21aa9b903485a9264fafa90b2d03497ea6f6' +
      '6aff408a9acac8b16a21e435537f863485a9264faf',
    fields: [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-accept-encoding', 'identity,deflate,gzip'],
      ['grpc-encoding', 'identity'],
    ],
  },
  {
    hex:
      '40889acac8b21234da8f816f40899acac8b5254207317f8fa8ea8808b493aa2010f52466a8b67f408c4a3c0eca562d96' +
      '1ec588790b88d3ab7c587570d37f',
    fields: [
      ['grpc-status', '5'],
      ['grpc-message', 'no%20such%20container'],
      ['tswarm-error-code', 'NOT_FOUND'],
    ],
  },
  {
    hex: '885f8b1d75d0620d263d4c4d65647f0281077f0280',
    fields: [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
      ['grpc-message', ''],
    ],
  },
  {
    hex:
      '7f00816f7f00851d474ce5b3408c4a3c0eca562d961ec588790b88d3ab7c587570d37f4085f2b507aa6fff30f5ebd7af' +
      '5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7' +
      'af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5eb' +
      'd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5' +
      'ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7a',
    fields: [
      ['grpc-status', '5'],
      ['grpc-message', 'another'],
      ['tswarm-error-code', 'NOT_FOUND'],
      ['x-long', 'y'.repeat(200)],
    ],
  },
  {
    hex: '40889acac8b21234da8f816f408c4a3c0eca562d961ec588790b88d3ab7c587570d37f',
    fields: [
      ['grpc-status', '5'],
      ['tswarm-error-code', 'NOT_FOUND'],
    ],
  },
];

/** Octets 0…255 in order, Huffman-coded by the same encoder. */
const ALL_OCTETS_HUFFMAN =
  'ffc7fffd8fffffe2fffffe3fffffe4fffffe5fffffe6fffffe7fffffe8ffffeafffffff3fffffa7fffffabffffffdfff' +
  'ffebfffffecfffffedfffffeefffffefffffff0ffffff1ffffff2fffffffbfffffcffffffd3fffffd7fffffdbfffffdf' +
  'fffffe3fffffe7fffffebfffffed4fe3f9ffaffcabf1febfafefe7fdfd2cbb00089969b71d79fb9f7fff20ffbff3ff50' +
  'ddbd7f061c58f265cd9f469d5af66dddbf871e5f9cff7ff7fffc3ff9ffe45fff4719242cb34e6e9d68a6a3d7dac426de' +
  'fe3cfaf7fffbfe7ffbffdffffffcfffe6ffff4bfff9ffffa3fffd3ffff53fffd5ffffb3fffeb7fffdaffffb7ffff73ff' +
  'feeffffdeffffebffffbfffffd9ffffdbfffebffffe0ffffeeffffc3ffff8bffff1ffffe4fffee7fffb1ffff97fffd9f' +
  'fffcdffff9fffffbffffdafffeeffff4ffffb7fffee7fffe8ffffd3fffdeffffd5fffeeffffbdffffe1fffdfffff7fff' +
  'ff5ffffecffff07fff87fffe0ffff17fffedffff87ffff77fffeffffeaffff8bfffe3ffff93ffff87fffcbffff37ffff' +
  '1fffff83ffffe1fffebfffe3ffff3fffff2ffffa3ffffd9fffff17ffffc7fffff27ffffdefffffbffffff2fffff8ffff' +
  'fb7fff97fff8fffffe6fffffc1fffff87ffffe7fffffc5ffffe5fffe4ffff2fffffd1fffff4ffffffefffffe3fffffc9' +
  'fffff97fffb3ffffcffffb7fffcdffff4ffff9ffffd1ffffcffffeaffffafffffddffffeffffff4fffff5fffffabffff' +
  'a7ffffd7fffff9bffffecfffffb7fffff3fffffe8fffffd3fffffabfffff5fffffff7ffffecfffffdbfffffbbfffff7f' +
  'fffff0fffffbbf';

describe('HpackDecoder', () => {
  it('decodes a connection’s blocks: static and dynamic indexes, Huffman, size update, eviction', () => {
    const decoder = new HpackDecoder();
    for (const [i, block] of BLOCKS.entries())
      expect(decoder.decode(Buffer.from(block.hex, 'hex')), `block ${i + 1}`).toEqual(block.fields);
  });

  it('refuses an index past the tables and a table larger than advertised', () => {
    expect(() => new HpackDecoder().decode(Buffer.from([0xbe]))).toThrow(HpackError); // index 62, table empty
    expect(() => new HpackDecoder(4096).decode(Buffer.from([0x3f, 0xe2, 0x1f]))).toThrow(/table size/); // 4097
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, 0x05, 0x61]))).toThrow(/truncated/); // a 5-byte name, 1 byte there
  });

  it('reads back what encodeHeaders writes', () => {
    const fields: HeaderField[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/tswarm.v1.EngineService/ContainerList'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', '99999999m'],
      ['x-' + 'n'.repeat(300), 'v'.repeat(1000)],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(fields))).toEqual(fields);
  });
});

describe('huffmanDecode', () => {
  it('decodes every octet', () => {
    expect([...huffmanDecode(Buffer.from(ALL_OCTETS_HUFFMAN, 'hex'))]).toEqual([...Array(256).keys()]);
  });

  it('refuses EOS inside the string and padding that is not all 1s', () => {
    expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(HuffmanError); // EOS (30 1s)
    expect(() => huffmanDecode(Buffer.from([0x00]))).toThrow(/padding/); // '0' (00000) then 000
    expect(huffmanDecode(Buffer.from([0x07])).toString()).toBe('0'); // '0' then 111
  });
});
