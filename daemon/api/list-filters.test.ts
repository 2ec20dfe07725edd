import { describe, expect, it } from 'vitest';
import { globMatch, matchesLabels } from './list-filters.js';

describe('list filters', () => {
  it('matches labels as dockerd does: every term holds, KEY is present or KEY=VALUE equal, own keys only', () => {
    const labels = { tier: 'front', empty: '' };
    expect(matchesLabels(labels, undefined)).toBe(true);
    expect(matchesLabels(labels, ['tier', 'tier=front', 'empty', 'empty='])).toBe(true);
    expect(matchesLabels(labels, ['tier', 'team'])).toBe(false);
    expect(matchesLabels(labels, ['tier=back'])).toBe(false);
    expect(matchesLabels(labels, ['constructor'])).toBe(false);
    expect(matchesLabels(labels, ['toString='])).toBe(false);
  });

  it('matches Docker’s reference globs: * and ? within one path component', () => {
    expect(globMatch('busybox', 'busybox')).toBe(true);
    expect(globMatch('busy*', 'busybox')).toBe(true);
    expect(globMatch('b?sybox', 'busybox')).toBe(true);
    expect(globMatch('*box*', 'busybox')).toBe(true);
    expect(globMatch('busy', 'busybox')).toBe(false);
    expect(globMatch('lab/*', 'lab/web')).toBe(true);
    expect(globMatch('*', 'lab/web')).toBe(false);
    expect(globMatch('lab/*', 'lab/web/x')).toBe(false);
    expect(globMatch('192.168.77.5:5000/lab/*', '192.168.77.5:5000/lab/busybox')).toBe(true);
    expect(globMatch('a.c', 'abc')).toBe(false); // no regular-expression meaning leaks in
    expect(globMatch('x'.repeat(1025), 'x'.repeat(1025))).toBe(false);
  });

  it('matches a glob of many stars against a long name without backtracking for long', () => {
    // As a regular expression ([^/]*a)… this is hundreds of nested choices; here it is a quick miss.
    expect(globMatch(`${'*a'.repeat(200)}*b`, 'a'.repeat(1000))).toBe(false);
    expect(globMatch(`${'*a'.repeat(200)}*`, 'a'.repeat(1000))).toBe(true);
  });
});
