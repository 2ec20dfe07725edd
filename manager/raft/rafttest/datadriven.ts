/**
 * A minimal reader/writer for etcd-style data-driven test files:
 *
 *   # comment
 *   command arg key=value key=(a b)
 *   ----
 *   expected output
 *   (ends at the first blank line)
 *
 * Outputs never contain blank lines (the runner prints "ok" for an empty output), so a blank
 * line always ends a case.
 */

export interface TestCase {
  /** 1-based line of the command, for error messages. */
  line: number;
  command: string;
  expected: string;
}

export type Chunk = { kind: 'text'; text: string } | { kind: 'case'; testCase: TestCase };

export function parseDataDriven(source: string): Chunk[] {
  const lines = source.split('\n');
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      chunks.push({ kind: 'text', text: line });
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected '----' after command '${line}'`);
    const out: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j]!.trim() !== '') out.push(lines[j++]!);
    chunks.push({ kind: 'case', testCase: { line: i + 1, command: line, expected: out.join('\n') } });
    i = j;
  }
  // split('\n') of a file ending in a newline yields a final empty string: drop it.
  const last = chunks[chunks.length - 1];
  if (last?.kind === 'text' && last.text === '') chunks.pop();
  return chunks;
}

export function renderDataDriven(chunks: readonly Chunk[], actual: ReadonlyMap<TestCase, string>): string {
  const out: string[] = [];
  for (const c of chunks) {
    if (c.kind === 'text') out.push(c.text);
    else out.push(c.testCase.command, '----', actual.get(c.testCase) ?? c.testCase.expected);
  }
  return out.join('\n') + '\n';
}

export interface Command {
  name: string;
  /** Positional arguments. */
  args: string[];
  /** key=value and key=(a b c) arguments; a list value is split on spaces. */
  kv: Map<string, string[]>;
}

export function parseCommand(text: string): Command {
  const tokens: string[] = [];
  const re = /(\S+=\([^)]*\)|\S+)/g;
  for (const m of text.matchAll(re)) tokens.push(m[0]);
  const [name, ...rest] = tokens;
  const args: string[] = [];
  const kv = new Map<string, string[]>();
  for (const t of rest) {
    const eq = t.indexOf('=');
    if (eq < 0) {
      args.push(t);
      continue;
    }
    const value = t.slice(eq + 1);
    const list = value.startsWith('(')
      ? value
          .slice(1, -1)
          .split(/[\s,]+/)
          .filter((v) => v !== '')
      : [value];
    kv.set(t.slice(0, eq), list);
  }
  return { name: name ?? '', args, kv };
}
