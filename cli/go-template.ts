import { TswarmError } from '../lib/errors.js';
import { formatTable, type OutputFormat } from './output.js';

/**
 * `--format` as the docker CLI reads it for its lists: `table` and `json` (tswarm's: the objects
 * as JSON), or a Go template over each row — `{{.Name}}: {{.Replicas}}` — and `table …` for the
 * same with a header row and aligned columns (`\t` between them). The template language is the
 * part of Go's text/template that list formats use: fields (`.A.B`), the pipe, and docker's
 * functions json, upper, lower, title, join, split, truncate, pad, println. Anything else is a
 * usage error naming what is not supported, rather than output that silently differs.
 */

const usage = (message: string) => new TswarmError('USAGE', `invalid --format: ${message}`);

export type ListFormat = { kind: OutputFormat } | { kind: 'template'; template: Template; table: boolean };

type Value = unknown;

/** One `{{…}}` action: a pipeline of commands, each a function or a value, the previous result appended. */
interface Command {
  words: Word[];
}
type Word =
  | { kind: 'field'; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'ident'; name: string };
type Piece = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Command[] };

export interface Template {
  pieces: Piece[];
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => JSON.stringify(v),
  upper: (v) => text(v).toUpperCase(),
  lower: (v) => text(v).toLowerCase(),
  title: (v) => text(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: (list, sep) => (Array.isArray(list) ? list.map(text).join(text(sep)) : text(list)),
  split: (s, sep) => text(s).split(text(sep)),
  truncate: (s, n) => [...text(s)].slice(0, Number(n)).join(''),
  pad: (s, left, right) => `${' '.repeat(Number(left))}${text(s)}${' '.repeat(Number(right))}`,
  println: (...args) => `${args.map(text).join(' ')}\n`,
};

function text(v: Value): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(text).join(' ')}]`;
  return `map[${Object.entries(v as Record<string, Value>)
    .map(([k, x]) => `${k}:${text(x)}`)
    .join(' ')}]`;
}

/** The words of one action: `.Field.Sub`, `.`, "strings", numbers and function names. */
function lexAction(source: string): Command[] {
  const pipeline: Command[] = [{ words: [] }];
  const re = /\s*(?:(\|)|("(?:[^"\\]|\\.)*")|(-?\d+)|(\.[A-Za-z0-9_.]*)|([A-Za-z_][A-Za-z0-9_]*))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw usage(`cannot read "${source.slice(at).trim()}" in {{${source}}}`);
    at = re.lastIndex;
    const current = pipeline[pipeline.length - 1]!;
    if (m[1]) pipeline.push({ words: [] });
    else if (m[2]) current.words.push({ kind: 'string', value: JSON.parse(m[2]) as string });
    else if (m[3]) current.words.push({ kind: 'number', value: Number(m[3]) });
    else if (m[4]) current.words.push({ kind: 'field', path: m[4].split('.').filter((p) => p !== '') });
    else if (m[5]) current.words.push({ kind: 'ident', name: m[5] });
  }
  if (pipeline.some((c) => c.words.length === 0)) throw usage(`empty command in {{${source}}}`);
  for (const c of pipeline) {
    const head = c.words[0]!;
    if (head.kind === 'ident' && !FUNCTIONS[head.name])
      throw usage(
        `{{${source.trim()}}}: "${head.name}" is not supported. Use fields such as .Name, and json, upper, lower, title, join, split, truncate, pad or println`,
      );
    if (head.kind !== 'ident' && c.words.length > 1) throw usage(`{{${source.trim()}}}: a value cannot take arguments`);
  }
  return pipeline;
}

export function parseTemplate(source: string): Template {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open === -1) {
      pieces.push({ kind: 'text', text: source.slice(at) });
      break;
    }
    if (open > at) pieces.push({ kind: 'text', text: source.slice(at, open) });
    const close = source.indexOf('}}', open + 2);
    if (close === -1) throw usage(`"{{" at ${open} is not closed with "}}"`);
    // Go's trim markers: "{{- " and " -}}" eat the whitespace beside them.
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('- ')) {
      inner = inner.slice(2);
      const last = pieces[pieces.length - 1];
      if (last?.kind === 'text') last.text = last.text.trimEnd();
    }
    let trimAfter = false;
    if (inner.endsWith(' -')) {
      inner = inner.slice(0, -2);
      trimAfter = true;
    }
    pieces.push({ kind: 'action', pipeline: lexAction(inner) });
    at = close + 2;
    if (trimAfter) while (at < source.length && /\s/.test(source[at]!)) at++;
  }
  return { pieces };
}

function fieldOf(data: Value, path: readonly string[]): Value {
  let v = data;
  for (const name of path) {
    if (v === null || typeof v !== 'object' || !(name in v))
      throw usage(`the field .${path.join('.')} does not exist here`);
    v = (v as Record<string, Value>)[name];
  }
  return v;
}

function evalWord(w: Word, data: Value): Value {
  switch (w.kind) {
    case 'field':
      return fieldOf(data, w.path);
    case 'string':
    case 'number':
      return w.value;
    case 'ident':
      return FUNCTIONS[w.name]!();
  }
}

function evalPipeline(pipeline: readonly Command[], data: Value): Value {
  let result: Value;
  pipeline.forEach((c, i) => {
    const [head, ...args] = c.words;
    const values = args.map((a) => evalWord(a, data));
    if (i > 0) values.push(result);
    result = head!.kind === 'ident' ? FUNCTIONS[head!.name]!(...values) : evalWord(head!, data);
  });
  return result;
}

export function renderTemplate(t: Template, data: Value): string {
  return t.pieces.map((p) => (p.kind === 'text' ? p.text : text(evalPipeline(p.pipeline, data)))).join('');
}

/** `table`, `json`, or a template (with `table ` in front: headers and aligned columns). */
export function parseListFormat(value: string | undefined): ListFormat {
  if (value === undefined || value === 'table') return { kind: 'table' };
  if (value === 'json') return { kind: 'json' };
  const table = value.startsWith('table ');
  // As docker: a literal \t or \n in the flag is a tab or a newline.
  const source = (table ? value.slice('table '.length) : value).trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  return { kind: 'template', template: parseTemplate(source), table };
}

/**
 * Rows through a template, one line each. With `table`, the header row is the template rendered
 * over the headers (each field's column title, as docker's), and tab-separated cells are aligned.
 */
export function formatWithTemplate(
  format: { template: Template; table: boolean },
  rows: readonly Record<string, Value>[],
  headers: Record<string, string>,
): string {
  const lines = rows.map((r) => renderTemplate(format.template, r));
  if (!format.table) return lines.map((l) => `${l}\n`).join('');
  const cells = (line: string) => line.split('\t');
  const [head = [], ...body] = [renderTemplate(format.template, headers), ...lines].map(cells);
  return formatTable(head, body);
}
