import { TswarmError } from '../../lib/errors.js';

/**
 * Regular expressions that list filters take from callers (`docker ps -f name=PATTERN`).
 *
 * dockerd runs them with Go's RE2, which takes linear time whatever the pattern. V8's engine
 * backtracks: `(a+)+$` against a 30-character name runs for seconds, and the daemon's event loop
 * (every API call, and Raft on a manager) waits for it. So before compiling one, the daemon
 * refuses the shapes that backtrack for long: nested repetition, repeated alternatives,
 * backreferences, many repetitions in a row, and long patterns.
 */

export const FILTER_PATTERN_CHARS_MAX = 256;
/** `a*a*a*x` costs ~n³ steps on a miss: with names of 128 characters, 3 keeps a match under a second. */
export const FILTER_PATTERN_REPETITIONS_MAX = 3;

interface Group {
  /** A quantifier or an alternation `|` somewhere inside: repeating such a group can backtrack exponentially. */
  repeatsInside: boolean;
}

/** `{n}`, `{n,}`, `{n,m}` at `at`: its length and whether it repeats a variable number of times. */
function braceQuantifier(pattern: string, at: number): { length: number; variable: boolean } | undefined {
  const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at, at + 24));
  if (!m) return undefined;
  return { length: m[0].length, variable: m[2] !== undefined && m[3] !== m[1] };
}

/** Where the character class opened at `at` (a `[`) ends, past its `]`. */
function classEnd(pattern: string, at: number): number {
  let i = at + 1;
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The length of a group's opening: `(`, `(?:`, `(?<name>`, `(?=`, `(?!`, `(?<=`, `(?<!`. */
function groupOpening(pattern: string, at: number): number {
  const m = /^\((\?(:|=|!|<=|<!|<[A-Za-z_$][\w$]*>))?/.exec(pattern.slice(at, at + 40));
  return m![0].length;
}

/** Why `pattern` may backtrack for long on a short name, or undefined when it cannot. */
export function slowPatternReason(pattern: string): string | undefined {
  if (pattern.length > FILTER_PATTERN_CHARS_MAX) return `it is over ${FILTER_PATTERN_CHARS_MAX} characters`;
  const groups: Group[] = [{ repeatsInside: false }];
  /** The group that ended just before `i`, when the atom before a quantifier is a group. */
  let closed: Group | undefined;
  let repetitions = 0;
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    const brace = ch === '{' ? braceQuantifier(pattern, i) : undefined;
    if (ch === '*' || ch === '+' || ch === '?' || brace) {
      if (closed?.repeatsInside)
        return 'it repeats a group that repeats or has alternatives inside (nested quantifiers)';
      groups[groups.length - 1]!.repeatsInside = true;
      if (!brace || brace.variable) repetitions++;
      if (repetitions > FILTER_PATTERN_REPETITIONS_MAX)
        return `it has more than ${FILTER_PATTERN_REPETITIONS_MAX} repetitions (*, +, ?, {n,m})`;
      i += brace ? brace.length : 1;
      if (pattern[i] === '?') i++; // lazy: the same repetition, tried in another order
      closed = undefined;
      continue;
    }
    closed = undefined;
    if (ch === '\\') {
      if (/^[1-9k]$/.test(pattern[i + 1] ?? '')) return 'it has a backreference';
      i += 2;
    } else if (ch === '[') {
      i = classEnd(pattern, i);
    } else if (ch === '(') {
      groups.push({ repeatsInside: false });
      i += groupOpening(pattern, i);
    } else if (ch === ')' && groups.length > 1) {
      closed = groups.pop()!;
      if (closed.repeatsInside) groups[groups.length - 1]!.repeatsInside = true;
      i++;
    } else {
      if (ch === '|') groups[groups.length - 1]!.repeatsInside = true;
      i++;
    }
  }
  return undefined;
}

/**
 * The regular expression of filter `key=pattern`, refused as INVALID_ARGUMENT (a 400 naming the
 * filter) when it could stall the daemon; undefined when it is not a valid expression at all.
 */
export function filterRegex(key: string, pattern: string): RegExp | undefined {
  const reason = slowPatternReason(pattern);
  if (reason !== undefined)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid filter '${key}=${pattern.slice(0, 64)}': ${reason}, which can take the daemon seconds to match. ` +
        'Use a simpler pattern, e.g. ^web-[0-9]+$',
    );
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}
