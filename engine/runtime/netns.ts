import { run } from '../../lib/run.js';

const IP_TIMEOUT_MS = 10_000;

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/**
 * A fresh network namespace with only loopback, up: what `--network none` gives, and the default
 * when the network part of the engine did not hand over a namespace of its own.
 */
export async function createNetns(name: string): Promise<string> {
  await run('ip', ['netns', 'add', name], { timeoutMs: IP_TIMEOUT_MS });
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: IP_TIMEOUT_MS });
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return netnsPath(name);
}

/** Deletes the namespace; one already gone is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'delete', name], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
}

/** Names of the namespaces in /run/netns that start with `prefix`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const result = await run('ip', ['netns', 'list'], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
  return result.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
