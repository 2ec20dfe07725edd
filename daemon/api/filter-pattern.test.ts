import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { FILTER_PATTERN_CHARS_MAX, filterRegex, slowPatternReason } from './filter-pattern.js';

describe('regular expressions from list filters', () => {
  it('compiles the patterns people give ps -f name=', () => {
    for (const [pattern, name] of [
      ['^web', 'web-1'],
      ['db-[0-9]+', 'db-12'],
      ['^(web|api)-[a-z]+$', 'api-blue'],
      ['^/?web-\\d{1,3}$', 'web-7'],
      ['(?:ab){2}', 'abab'],
      ['.*front.*end', 'the-front-and-end'],
      ['^[a-z]+?-(\\w)$', 'ab-c'],
    ] as const) {
      expect(slowPatternReason(pattern)).toBeUndefined();
      expect(filterRegex('name', pattern)?.test(name)).toBe(true);
    }
  });

  it('refuses nested quantifiers, repeated alternatives and backreferences with a 400 naming the filter', () => {
    expect(() => filterRegex('name', '(a+)+$')).toThrow(/^invalid filter 'name=\(a\+\)\+\$': .*nested quantifiers/);
    expect(thrownCode(() => filterRegex('name', '(a+)+$'))).toBe('INVALID_ARGUMENT');
    for (const pattern of [
      '(a*)*',
      '(a|aa)+$',
      '((ab)+c)*',
      '(?:x?y)+',
      '(a+){3}',
      '(\\d+)*',
      '(a)\\1',
      '(?<n>a)\\k<n>',
    ])
      expect(slowPatternReason(pattern), pattern).toBeDefined();
  });

  it('refuses many repetitions in a row and long patterns, which backtrack polynomially', () => {
    expect(slowPatternReason('a*a*a*x')).toBeUndefined();
    expect(slowPatternReason('a*a*a*a*x')).toMatch(/more than 3 repetitions/);
    expect(slowPatternReason('.*.*a{0,9}.?x')).toMatch(/more than 3 repetitions/);
    expect(slowPatternReason('a{3}b{4}c{5}d{6}')).toBeUndefined(); // fixed counts do not backtrack
    expect(slowPatternReason('x'.repeat(FILTER_PATTERN_CHARS_MAX))).toBeUndefined();
    expect(slowPatternReason('x'.repeat(FILTER_PATTERN_CHARS_MAX + 1))).toMatch(/over 256 characters/);
  });

  it('reads escapes and character classes as single atoms', () => {
    expect(slowPatternReason('[(+*?]+\\(\\+\\)+')).toBeUndefined(); // quantifiers of a class and of an escaped paren
    expect(slowPatternReason('[\\]]+x')).toBeUndefined();
    expect(slowPatternReason('(a\\|b)+')).toBeUndefined(); // an escaped `|` is a character, not an alternative
    expect(slowPatternReason('(a|b)+')).toBeDefined();
  });

  it('answers undefined for what is not a regular expression, so the caller can match it as text', () => {
    expect(filterRegex('name', 'web[')).toBeUndefined();
  });
});
