import { isAbsolute } from 'node:path';
import { TswarmError } from './errors.js';

/**
 * Docker's mount and size notations (`-v`, `--tmpfs`, `-m`), read the same way by the CLI (its
 * flags) and the daemon (HostConfig.Binds and HostConfig.Tmpfs of a create body). Pure and free
 * of commander: a bad value is INVALID_ARGUMENT, which the daemon answers as a 400 and the CLI
 * turns into a usage error (cli/commands/engine-flags.ts).
 */

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "64m", "1g", "512k", "1024" (bytes), "1.5g": binary units, as Docker's RAMInBytes. */
export function parseSizeBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw invalid(`invalid size "${value}". Use a number with an optional unit: b, k, m, g (e.g. 64m)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw invalid(`size "${value}" is too large`);
  return bytes;
}

/** What a `-v` value names: a bind mount (absolute source), a named volume, or an anonymous one (no source). */
export interface VolumeSpec {
  type: 'bind' | 'volume';
  /** '' for an anonymous volume. */
  source: string;
  target: string;
  readOnly: boolean;
}

/** "SRC:DST[:ro|rw]": an absolute SRC is a bind mount, a name a volume; "DST" alone an anonymous volume. */
export function volumeSpec(value: string): VolumeSpec {
  const parts = value.split(':');
  const usage = `invalid volume "${value}". Use /host/path:/path[:ro], name:/path[:ro] or /path`;
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid(usage);
  let readOnly = false;
  if (parts.length === 3) {
    const mode = parts.pop();
    if (mode !== 'ro' && mode !== 'rw') throw invalid(`${usage} (mode "${mode}" is not ro or rw)`);
    readOnly = mode === 'ro';
  }
  if (parts.length === 1) {
    if (!isAbsolute(parts[0]!)) throw invalid(usage);
    return { type: 'volume', source: '', target: parts[0]!, readOnly };
  }
  const [source, target] = parts as [string, string];
  if (!isAbsolute(target)) throw invalid(`${usage} (the container path must be absolute)`);
  return { type: isAbsolute(source) ? 'bind' : 'volume', source, target, readOnly };
}

/** What a `--tmpfs` value asks for; sizeBytes and mode are 0 when not given. */
export interface TmpfsSpec {
  target: string;
  sizeBytes: number;
  mode: number;
}

/** "/run[:size=64m,mode=1777]"; `what` names where the value came from (`--tmpfs`, `HostConfig.Tmpfs`). */
export function tmpfsSpec(value: string, what: string): TmpfsSpec {
  const [target = '', options = ''] = value.split(/:(.*)/s);
  if (!isAbsolute(target)) throw invalid(`invalid ${what} "${value}". Use /path[:size=64m,mode=1777]`);
  const spec: TmpfsSpec = { target, sizeBytes: 0, mode: 0 };
  for (const opt of options.split(',').filter((o) => o !== '')) {
    const [k, v = ''] = opt.split('=');
    if (k === 'size') spec.sizeBytes = parseSizeBytes(v);
    else if (k === 'mode' && /^[0-7]{3,4}$/.test(v)) spec.mode = parseInt(v, 8);
    else throw invalid(`invalid ${what} option "${opt}". Use size=SIZE or mode=OCTAL`);
  }
  return spec;
}
