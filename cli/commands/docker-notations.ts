import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/**
 * Text notations the docker CLI reads flag values with, read the same way here: one CSV record
 * (`--mount`, `--publish`'s long form), shell words (`service create --entrypoint`) and env files
 * (`--env-file`). Each error is commander's InvalidArgumentError: a usage error naming the flag.
 */

const bad = (message: string) => new InvalidArgumentError(message);

/**
 * One record of CSV as Go's encoding/csv reads it (what docker uses for `--mount`): fields split at
 * commas; a field that starts with `"` is quoted, may hold commas, and `""` inside is one quote; a
 * quote inside an unquoted field is an error, as is an unterminated quoted field.
 */
export function csvRecord(text: string, flag: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw bad(`invalid ${flag} "${text}": a quoted field is not closed. Add the closing "`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      if (i < text.length && text[i] !== ',')
        throw bad(`invalid ${flag} "${text}": text after a closing quote. Quote the whole field`);
      fields.push(value);
    } else {
      const end = text.indexOf(',', i);
      const value = end === -1 ? text.slice(i) : text.slice(i, end);
      if (value.includes('"'))
        throw bad(`invalid ${flag} "${text}": a quote inside an unquoted field. Quote the whole field ("k=v,…")`);
      fields.push(value);
      i = end === -1 ? text.length : end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/**
 * Shell words as docker's `--entrypoint` for services reads them (google/shlex): split at
 * whitespace; single quotes keep everything; double quotes keep all but a backslash, which escapes
 * the next character (as it does outside quotes); an unclosed quote is an error.
 */
export function shellWords(text: string, flag: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const append = (s: string) => (word = (word ?? '') + s);
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw bad(`invalid ${flag} "${text}": a ' quote is not closed`);
      append(text.slice(i + 1, end));
      i = end + 1;
    } else if (ch === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) throw bad(`invalid ${flag} "${text}": a " quote is not closed`);
        const c = text[j]!;
        if (c === '"') break;
        if (c === '\\' && j + 1 < text.length) {
          value += text[j + 1];
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      append(value);
      i = j + 1;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) throw bad(`invalid ${flag} "${text}": it ends with a lone \\`);
      append(text[i + 1]!);
      i += 2;
    } else {
      append(ch);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Keys of an env file line: anything but whitespace and '='. */
const WHITESPACE = /[ \t]/;

/**
 * An env file as docker reads one (pkg/kvfile): KEY=VALUE lines, kept as they are (quotes and
 * trailing spaces are part of the value); leading whitespace, blank lines and `#` comments are
 * skipped; a bare KEY takes its value from this shell's environment and is left out when unset.
 */
export function parseEnvText(text: string, where: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key === '') throw bad(`invalid env file ${where}, line ${index + 1}: no variable name in "${line}"`);
    if (WHITESPACE.test(key))
      throw bad(`invalid env file ${where}, line ${index + 1}: variable "${key}" contains whitespace`);
    if (eq !== -1) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  });
  return out;
}

/** `--env-file FILE`, read when the flag is parsed: a missing or unreadable file is a usage error. */
export function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw bad(`cannot read --env-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseEnvText(text, path, env);
}
