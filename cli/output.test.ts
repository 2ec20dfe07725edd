import { describe, expect, it } from 'vitest';
import { formatFields, formatTable, parseFormat } from './output.js';

describe('formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    const out = formatTable(
      ['NAME', 'ADDRESS', 'STATE'],
      [
        ['m1', '192.168.77.11', 'running'],
        ['w10', '192.168.77.21', 'dead'],
      ],
    );
    expect(out).toBe(
      ['NAME   ADDRESS         STATE', 'm1     192.168.77.11   running', 'w10    192.168.77.21   dead', ''].join('\n'),
    );
  });

  it('prints just the header for no rows', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A   B\n');
  });
});

describe('formatFields', () => {
  it('aligns values after the longest key', () => {
    expect(
      formatFields([
        ['Version', '1'],
        ['Data dir', '/x'],
      ]),
    ).toBe(' Version:  1\n Data dir: /x\n');
  });
});

describe('parseFormat', () => {
  it('accepts table and json and refuses the rest', () => {
    expect(parseFormat(undefined)).toBe('table');
    expect(parseFormat('json')).toBe('json');
    expect(() => parseFormat('yaml')).toThrow(/invalid --format "yaml"/);
  });
});
