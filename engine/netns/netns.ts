import { rm, writeFile } from 'node:fs/promises';
import { run } from '../../lib/process/run.js';
import { ensureOwnMount } from './mount-table.js';

/**
 * Network namespaces as engine/runtime and engine/network both make and name them: pinned in
 * /run/netns the way ip(8) does, named with the daemon's prefix so daemons sharing a machine (the
 * lab) never touch each other's. Neither part reaches into the other for these.
 */

const IP_TIMEOUT_MS = 10_000;
/** Where ip(8) pins network namespaces; containers join theirs by this path. */
export const NETNS_DIR = '/run/netns';

/** A network namespace name: ip(8) keeps them in /run/netns, so the prefix keeps daemons apart. */
export function ownNetnsName(prefix: string, id: string): string {
  return `${prefix}-${id.slice(0, 12)}`;
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

let netnsDirReady: Promise<void> | undefined;

/**
 * /run/netns as ip(8) keeps it: its own shared mount, so a namespace pinned or unpinned here is
 * seen in every mount namespace (containers being made, the crun namespace on a hybrid host).
 */
function ensureNetnsDir(): Promise<void> {
  netnsDirReady ??= ensureOwnMount(NETNS_DIR, 'shared', 0o755).catch((err: unknown) => {
    netnsDirReady = undefined;
    throw err;
  });
  return netnsDirReady;
}

/**
 * A fresh network namespace with only loopback, up: what `--network none` gives, and the default
 * when the network part of the engine did not hand over a namespace of its own. Made the way
 * `ip netns add` makes it (pinned at /run/netns/NAME) but in one step: unshare pins it and runs
 * `ip link set lo up` inside, where `ip -n` would also remount /sys (~10 ms a container).
 */
export async function createNetns(name: string): Promise<string> {
  await ensureNetnsDir();
  const path = netnsPath(name);
  await writeFile(path, '', { flag: 'wx', mode: 0o444 });
  try {
    await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up'], { timeoutMs: IP_TIMEOUT_MS });
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return path;
}

/** Deletes the namespace (its pin, and the file under it); one already gone is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'delete', name], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
  // A pin file that unshare never mounted on (it failed) is not one ip will delete.
  await rm(netnsPath(name), { force: true }).catch(() => undefined);
}

/** Names of the namespaces in /run/netns that start with `prefix`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const result = await run('ip', ['netns', 'list'], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
  return result.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
