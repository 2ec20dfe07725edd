import { createHash } from 'node:crypto';
import { release, version } from 'node:os';
import { mkdir, open, readdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import type { SeccompProfile } from './seccomp.js';

/**
 * Compiled seccomp filters, kept so a container's profile is compiled once per node, not once per
 * container. crun compiles `linux.seccomp` with libseccomp on every create (~20 ms for Docker's
 * profile: half of `crun create`) and its own cache needs a libgcrypt build Debian does not ship.
 * After the first create of a profile, the program crun wrote to its state dir is kept here, and
 * later containers hand it back through crun's `run.oci.seccomp_bpf_data` annotation, which crun
 * loads as is. libseccomp stays the compiler: tswarm never writes a BPF program itself.
 *
 * An entry is named by the profile and everything that shapes its compilation (runtime version,
 * libseccomp, kernel), so an upgrade of any of them compiles afresh. Each file carries a checksum
 * of its program; a file that fails it, or does not look like a filter, is dropped and recompiled.
 */

/** crun's annotation: base64 of the raw program it passes to seccomp(SECCOMP_SET_MODE_FILTER). */
export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

const HEADER_PREFIX = 'tswarm-seccomp-bpf v1 ';
/** sizeof(struct sock_filter), and the kernel's BPF_MAXINSNS. */
const INSTRUCTION_BYTES = 8;
const MAX_INSTRUCTIONS = 4096;
const BPF_RET = 0x06;
/** Profiles differ only by capability set, so a node sees a handful; this bounds a strange one. */
const MAX_ENTRIES = 64;
const LIB_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/lib64',
  '/usr/lib',
];

/** Whether `program` has the shape of a classic BPF filter: whole instructions, ending in a return. */
export function isPlausibleFilter(program: Buffer): boolean {
  if (program.length === 0 || program.length % INSTRUCTION_BYTES !== 0) return false;
  if (program.length / INSTRUCTION_BYTES > MAX_INSTRUCTIONS) return false;
  // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } in host order; a filter ends in BPF_RET.
  const lastCode = program.readUInt16LE(program.length - INSTRUCTION_BYTES);
  return (lastCode & 0x07) === BPF_RET;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What makes a compiled program differ for the same profile: runtime, libseccomp and kernel. */
export async function compilerFingerprint(runtimePath: string, runtimeVersion: string | undefined): Promise<string> {
  let libseccomp = 'libseccomp:unknown';
  for (const dir of LIB_DIRS) {
    try {
      // The soname link points at the versioned file (libseccomp.so.2.5.4).
      libseccomp = await realpath(join(dir, 'libseccomp.so.2'));
      break;
    } catch {
      // not in this directory
    }
  }
  return [runtimePath, runtimeVersion ?? '', libseccomp, release(), version()].join('\n');
}

export class SeccompBpfCache {
  private readonly entries = new Map<string, string>();
  /** Keys being written, so concurrent first creates of one profile write it once. */
  private readonly pending = new Set<string>();

  private constructor(
    private readonly dir: string,
    private readonly fingerprint: string,
    private readonly log: Logger,
  ) {}

  /** Loads the entries on disk; unreadable or damaged ones are removed and will be recompiled. */
  static async open(dir: string, fingerprint: string, log: Logger): Promise<SeccompBpfCache> {
    const cache = new SeccompBpfCache(dir, fingerprint, log);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      if (!name.endsWith('.bpf') || cache.entries.size >= MAX_ENTRIES) {
        // Temporary files of an interrupted write, and entries past the bound.
        await rm(path, { force: true, recursive: true });
        continue;
      }
      const program = parseEntry(await readFile(path).catch(() => Buffer.alloc(0)));
      if (!program) {
        log.warn({ path }, 'dropping a damaged compiled seccomp filter; it will be compiled again');
        await rm(path, { force: true });
        continue;
      }
      cache.entries.set(name.slice(0, -'.bpf'.length), program.toString('base64'));
    }
    return cache;
  }

  keyFor(profile: SeccompProfile): string {
    return sha256(`${this.fingerprint}\n${JSON.stringify(profile)}`);
  }

  /** The compiled program for `profile`, base64 as crun's annotation takes it, if known. */
  lookup(profile: SeccompProfile): string | undefined {
    return this.entries.get(this.keyFor(profile));
  }

  /**
   * Keeps `program`, the filter crun compiled for `profile`. Never throws: a failure only means
   * the next container compiles again.
   */
  async remember(profile: SeccompProfile, program: Buffer): Promise<void> {
    const key = this.keyFor(profile);
    if (this.entries.has(key) || this.pending.has(key) || this.entries.size >= MAX_ENTRIES) return;
    if (!isPlausibleFilter(program)) {
      this.log.warn({ bytes: program.length }, 'the runtime wrote no usable seccomp filter; not caching it');
      return;
    }
    // In use at once, for this daemon's life; the file is for the next one.
    this.entries.set(key, program.toString('base64'));
    this.pending.add(key);
    try {
      await this.writeEntry(key, program);
    } catch (err) {
      this.log.warn(
        { err },
        'could not keep a compiled seccomp filter on disk; after a restart containers will compile it again',
      );
    } finally {
      this.pending.delete(key);
    }
  }

  /** Write, fsync, rename, fsync the directory: a crash leaves the old state or the whole entry. */
  private async writeEntry(key: string, program: Buffer): Promise<void> {
    const final = join(this.dir, `${key}.bpf`);
    const temporary = `${final}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(Buffer.concat([Buffer.from(`${HEADER_PREFIX}${sha256(program)}\n`), program]));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temporary, final);
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** The program in an entry file, or undefined when its header, checksum or shape is wrong. */
export function parseEntry(bytes: Buffer): Buffer | undefined {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return undefined;
  const header = bytes.subarray(0, newline).toString('latin1');
  if (!header.startsWith(HEADER_PREFIX)) return undefined;
  const program = bytes.subarray(newline + 1);
  if (sha256(program) !== header.slice(HEADER_PREFIX.length)) return undefined;
  return isPlausibleFilter(program) ? Buffer.from(program) : undefined;
}
