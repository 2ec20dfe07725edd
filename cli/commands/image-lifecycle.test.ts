import { describe, expect, it } from 'vitest';
import { historyRows } from './image-lifecycle.js';

describe('history rows', () => {
  const items = [
    {
      Id: `sha256:${'a'.repeat(64)}`,
      Created: 1000,
      CreatedBy: 'sh -c echo made-on-w1 > /made.txt && rm /etc/kept.txt && sleep 300',
      Tags: ['lab/x:1'],
      Size: 4610,
      Comment: 'made a file',
    },
    { Id: '<missing>', Created: 940, CreatedBy: 'umoci config', Tags: null, Size: 0, Comment: '' },
  ];

  it('shows the short ID on top, <missing> below, CREATED BY cut at 45 characters', () => {
    const rows = historyRows(items, false, 1060_000);
    expect(rows[0]).toEqual([
      'aaaaaaaaaaaa',
      '1 minute ago',
      'sh -c echo made-on-w1 > /made.txt && rm /etc…',
      '4.61kB',
      'made a file',
    ]);
    expect(rows[1]).toEqual(['<missing>', '2 minutes ago', 'umoci config', '0B', '']);
  });

  it('keeps everything whole with --no-trunc', () => {
    const rows = historyRows(items, true, 1060_000);
    expect(rows[0]![0]).toBe(items[0]!.Id);
    expect(rows[0]![2]).toBe(items[0]!.CreatedBy);
  });
});
