import { TswarmError } from '../lib/errors.js';

/** How the CLI prints data: aligned tables for people, JSON for scripts. */
export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json') return 'json';
  throw new TswarmError('USAGE', `invalid --format "${value}". Use "table" or "json"`);
}

/** Columns padded to the widest cell, three spaces apart, as `docker ps` prints them. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** "Key: value" lines, indented, for `info`-style output. */
export function formatFields(fields: readonly (readonly [string, string])[], indent = ' '): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return fields.map(([k, v]) => `${indent}${(k + ':').padEnd(width)} ${v}`).join('\n') + '\n';
}
