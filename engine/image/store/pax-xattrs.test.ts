import { describe, expect, it } from 'vitest';
import { tarOf } from '../testing/fake-registry.js';
import { PaxXattrScanner, paxRecords } from './pax-xattrs.js';

describe('pax xattr records beside the tar parser', () => {
  it('numbers entries as the parser hands them over, in any chunking, pax headers not counted', () => {
    const tar = tarOf([
      { path: 'a', content: 'x'.repeat(700) },
      { path: 'b', content: 'b', xattrs: { 'user.one': Buffer.from([0, 1, 10, 255]) } },
      { path: 'c/', type: 'Directory', xattrs: { 'user.two': Buffer.from('2') } },
    ]);
    for (const size of [1, 7, 512, 100_000]) {
      const scanner = new PaxXattrScanner();
      for (let at = 0; at < tar.length; at += size) scanner.push(tar.subarray(at, at + size));
      expect([...scanner.byEntry.keys()]).toEqual([1, 2]);
      expect(scanner.byEntry.get(1)?.get('user.one')).toEqual(Buffer.from([0, 1, 10, 255]));
      expect(scanner.byEntry.get(2)?.get('user.two')?.toString()).toBe('2');
    }
  });

  it('stops at a record whose length does not fit', () => {
    expect(paxRecords(Buffer.from('12 path=abc\n99 SCHILY.xattr.user.x=y\n'))).toEqual([['path', Buffer.from('abc')]]);
  });
});
