import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Lab } from '../../lab/lab.js';
import type { RunResult } from '../../lib/process/run.js';

/** Helpers for scenario tests that drive a host's engine through the real CLI. */

/** `tswarm ARGS` on a lab host, never throwing: tests look at the exit code and output. */
export function tswarm(lab: Lab, host: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return lab.exec(host, ['tswarm', ...args], { timeoutMs });
}

/** Like tswarm(), but a non-zero exit fails with everything it printed. */
export async function tswarmOk(lab: Lab, host: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await tswarm(lab, host, args, timeoutMs);
  if (r.code !== 0) throw new Error(`tswarm ${args.join(' ')} on ${host} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `tswarm container inspect`'s element: Docker's ContainerInspect, the fields the tests read. */
export interface InspectedContainer {
  Id: string;
  Name: string;
  State: { Status: string; Pid: number; ExitCode: number; OOMKilled: boolean; Error: string };
  /** The log file the container's monitor writes; it outlives the daemon. */
  LogPath: string;
}

export async function inspect(lab: Lab, host: string, ref: string): Promise<InspectedContainer> {
  const [c] = JSON.parse(await tswarmOk(lab, host, ['container', 'inspect', ref])) as InspectedContainer[];
  if (!c) throw new Error(`inspect ${ref} on ${host} returned nothing`);
  return c;
}

/** The name prefix the host's daemon gives its kernel objects (cgroup parent among them). */
export async function namePrefix(lab: Lab, host: string): Promise<string> {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host}`);
  return (JSON.parse(await readFile(join(h.dataDir, 'node.json'), 'utf8')) as { namePrefix: string }).namePrefix;
}

export function engineDir(lab: Lab, host: string): string {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host}`);
  return join(h.dataDir, 'engine');
}

/** Entries of a directory, [] when it does not exist. */
export async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

const GET_SCRIPT = `
const [url, timeoutMs] = process.argv.slice(1);
fetch(url, { signal: AbortSignal.timeout(Number(timeoutMs)) })
  .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

/** An HTTP GET made from a lab host's own network namespace; undefined when it fails. */
export async function httpGetFrom(
  lab: Lab,
  host: string,
  url: string,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string } | undefined> {
  const r = await lab.exec(host, [process.execPath, '-e', GET_SCRIPT, url, String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000,
  });
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: number; body: string }) : undefined;
}

/** Collects a child's stdout lines as they come, for `logs -f`. */
export function collectLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  return lines;
}

/** Prints what a scenario showed, so the test log is evidence and not just a pass mark. */
export function show(text: string): void {
  process.stdout.write(`${text}\n`);
}
