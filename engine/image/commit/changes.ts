import { TswarmError } from '../../../lib/errors.js';
import type { OciImageConfig } from '../../image-contract.js';

/** The part of an image config (`config` in the OCI image config) commit may change; unknown fields are kept. */
export type RunConfig = OciImageConfig & { [key: string]: unknown };

/** The Dockerfile instructions `commit --change` takes, as docker commit does. */
export const CHANGE_INSTRUCTIONS = [
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'LABEL',
  'ONBUILD',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;
const CHANGES_MAX = 256;

function invalid(change: string, why: string): TswarmError {
  return new TswarmError('INVALID_ARGUMENT', `invalid --change "${change}": ${why}`);
}

/** A JSON array of strings (exec form), or undefined when `text` is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) return parsed;
  } catch {
    // not JSON: the shell form
  }
  return undefined;
}

/** Strips one level of double or single quotes, as Dockerfile KEY=VALUE words allow. */
function unquote(s: string): string {
  return /^"(.*)"$/s.test(s) || /^'(.*)'$/s.test(s) ? s.slice(1, -1) : s;
}

/** `KEY=VALUE KEY2="two words"`, or the old `KEY VALUE` form with one pair. */
function keyValues(change: string, rest: string): [string, string][] {
  const words = rest.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? [];
  if (words.length === 0) throw invalid(change, 'it names nothing');
  if (!words[0]!.includes('=')) {
    const [key, ...value] = rest.split(/\s+/);
    if (!key || value.length === 0) throw invalid(change, 'give KEY=VALUE');
    return [[key, value.join(' ')]];
  }
  return words.map((w) => {
    const at = w.indexOf('=');
    if (at <= 0) throw invalid(change, `"${w}" is not KEY=VALUE`);
    return [w.slice(0, at), unquote(w.slice(at + 1))];
  });
}

function commandOf(rest: string): string[] {
  return jsonArray(rest) ?? ['/bin/sh', '-c', rest];
}

/**
 * Applies Dockerfile-style `changes` (docker commit --change) to `config`, returning a new
 * config. An unknown instruction, or one without its argument, is refused with the list of the
 * accepted ones: nothing is committed on bad input.
 */
export function applyChanges(config: RunConfig, changes: readonly string[]): RunConfig {
  if (changes.length > CHANGES_MAX) throw new TswarmError('INVALID_ARGUMENT', `more than ${CHANGES_MAX} --change`);
  const out: RunConfig = structuredClone(config);
  for (const raw of changes) {
    const change = raw.trim();
    const match = /^(\w+)\s*(.*)$/s.exec(change);
    const instruction = match?.[1]?.toUpperCase() ?? '';
    const rest = match?.[2]?.trim() ?? '';
    if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(instruction))
      throw invalid(
        change,
        `${instruction || 'nothing'} is not an instruction commit takes (${CHANGE_INSTRUCTIONS.join(', ')})`,
      );
    if (rest === '') throw invalid(change, `${instruction} needs an argument`);
    switch (instruction) {
      case 'CMD':
        out.Cmd = commandOf(rest);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandOf(rest);
        break;
      case 'ENV':
        out.Env = mergeEnv(
          out.Env ?? [],
          keyValues(change, rest).map(([k, v]) => `${k}=${v}`),
        );
        break;
      case 'LABEL':
        out.Labels = { ...out.Labels, ...Object.fromEntries(keyValues(change, rest)) };
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...out.ExposedPorts };
        for (const port of rest.split(/\s+/)) {
          if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(port))
            throw invalid(change, `"${port}" is not a port (PORT[/PROTO], e.g. 80/tcp)`);
          out.ExposedPorts[port.includes('/') ? port.toLowerCase() : `${port}/tcp`] = {};
        }
        break;
      case 'VOLUME':
        out.Volumes = { ...out.Volumes };
        for (const v of jsonArray(rest) ?? rest.split(/\s+/)) out.Volumes[v] = {};
        break;
      case 'WORKDIR':
        out.WorkingDir = rest.startsWith('/') ? rest : `${out.WorkingDir ?? '/'}/${rest}`.replace(/\/+/g, '/');
        break;
      case 'USER':
        out.User = rest;
        break;
      case 'STOPSIGNAL':
        out.StopSignal = rest;
        break;
      case 'ONBUILD':
        out['OnBuild'] = [...((out['OnBuild'] as string[] | undefined) ?? []), rest];
        break;
    }
  }
  return out;
}

/** `base` with each of `updates` (KEY=VALUE) replacing the entry of its key, or added at the end. */
export function mergeEnv(base: readonly string[], updates: readonly string[]): string[] {
  const out = [...base];
  for (const entry of updates) {
    const key = entry.split('=', 1)[0];
    const at = out.findIndex((e) => e.split('=', 1)[0] === key);
    if (at >= 0) out[at] = entry;
    else out.push(entry);
  }
  return out;
}
