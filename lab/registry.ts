import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { waitFor } from '../lib/poll.js';
import { run } from '../lib/run.js';
import { buildBusyboxImage } from '../engine/image/testing/images.js';
import { createCgroup } from './cgroup.js';
import type { Lab } from './lab.js';
import { createHost } from './netns.js';
import { labPaths, REGISTRY_ADDR, REGISTRY_HOST } from './paths.js';

/**
 * The lab's registry host `reg` (192.168.77.5, ARCHITECTURE.md §5): a namespace on the lab's
 * switch running Debian's docker-registry, holding the busybox test image, so pulls in the lab
 * cross the lab's own network and nothing leaves the machine. Its process sits in a cgroup under
 * the lab's and its files under the lab's directory, so `lab down` ends and removes both; the
 * namespace is removed by teardown by name.
 */
export const REGISTRY_PORT = 5000;
export const LAB_REGISTRY = `${REGISTRY_ADDR}:${REGISTRY_PORT}`;
/** The test image as the lab's daemons name it. */
export const LAB_TEST_IMAGE = `${LAB_REGISTRY}/test/busybox:1`;
/** What every lab host's tswarmd needs to pull from it over plain HTTP. */
export const LAB_REGISTRY_DAEMON_ARGS: readonly string[] = ['--insecure-registry', LAB_REGISTRY];

/** Applets the engine's scenario tests and benchmarks use beyond the fixture's base set. */
const TEST_APPLETS = ['httpd', 'seq', 'dd', 'head', 'ip', 'grep', 'wc', 'mkdir', 'cut', 'tr', 'env', 'ps', 'kill', 'hostname'];
const START_TIMEOUT_MS = 15_000;
const TOOL_TIMEOUT_MS = 60_000;

export interface LabRegistry {
  /** 192.168.77.5:5000 */
  host: string;
  image: string;
  /** The registry's log: one line per request served (its access log). */
  logFile: string;
  pid: number;
  /** Requests served so far whose path contains `pathPart`, read from the access log. */
  countRequests(pathPart: string): Promise<number>;
}

function netnsPath(lab: string): string {
  return labPaths.netnsPath(labPaths.hostNetns(lab, REGISTRY_HOST));
}

/** Runs `argv` inside the registry host: its cgroup first, then its network namespace. */
function inRegistryHost(lab: string, argv: readonly string[]): [string, string[]] {
  const procs = join(labPaths.cgroupHost(lab, REGISTRY_HOST), 'cgroup.procs');
  const quoted = [`--net=${netnsPath(lab)}`, '--', ...argv].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['/bin/sh', ['-c', `echo $$ > '${procs}' && exec nsenter ${quoted}`]];
}

function registryConfig(dataDir: string): string {
  // Info level: the registry then logs each request it served, which tests count.
  return ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${dataDir}`, 'http:', `  addr: 0.0.0.0:${REGISTRY_PORT}`, ''].join('\n');
}

/** True when the registry answers /v2/ from inside its namespace (the root namespace has no route to the lab). */
async function answers(lab: string): Promise<boolean> {
  const probe = `fetch('http://127.0.0.1:${REGISTRY_PORT}/v2/').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
  const [cmd, args] = inRegistryHost(lab, [process.execPath, '-e', probe]);
  return (await run(cmd, args, { timeoutMs: 10_000, allowFailure: true })).code === 0;
}

/**
 * Makes the registry host on `lab`, starts the registry, and pushes the busybox test image as
 * LAB_TEST_IMAGE. Start the lab with `daemonArgs: [...LAB_REGISTRY_DAEMON_ARGS]` so its daemons
 * may pull over plain HTTP. Everything made here goes with `lab.down()`.
 */
export async function startLabRegistry(lab: Lab): Promise<LabRegistry> {
  const dir = labPaths.hostDir(lab.name, REGISTRY_HOST);
  await mkdir(join(dir, 'data'), { recursive: true, mode: 0o755 });
  await createCgroup(labPaths.cgroupHost(lab.name, REGISTRY_HOST));
  await createHost(lab.name, REGISTRY_HOST, REGISTRY_ADDR);
  await writeFile(join(dir, 'config.yml'), registryConfig(join(dir, 'data')));
  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'a', 0o644);
  const [cmd, args] = inRegistryHost(lab.name, ['docker-registry', 'serve', join(dir, 'config.yml')]);
  // Detached and unreferenced: it lives as long as the lab; teardown ends it through the lab's cgroup.
  const child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  child.unref();
  const pid = child.pid ?? 0;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new TswarmError('INTERNAL', `docker-registry exited with ${child.exitCode}; see ${logFile}`);
      return answers(lab.name);
    },
    { what: `the lab registry to answer on ${LAB_REGISTRY}`, timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
  );
  await pushTestImage(lab.name, join(dir, 'oci'));
  const countRequests = async (pathPart: string) =>
    (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.includes('response completed') && l.includes(pathPart)).length;
  return { host: LAB_REGISTRY, image: LAB_TEST_IMAGE, logFile, pid, countRequests };
}

/** Builds the image in an OCI layout and pushes it from inside the registry host (skopeo over loopback). */
async function pushTestImage(lab: string, layout: string): Promise<void> {
  await buildBusyboxImage(layout, 'busybox', { withChangesLayer: true, applets: TEST_APPLETS });
  const [cmd, args] = inRegistryHost(lab, ['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:busybox`, `docker://127.0.0.1:${REGISTRY_PORT}/test/busybox:1`]);
  await run(cmd, args, { timeoutMs: TOOL_TIMEOUT_MS });
}
