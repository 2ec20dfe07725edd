import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { processStartTime } from '../lib/process/pid-lock.js';
import { waitFor } from '../lib/poll.js';
import { run } from '../lib/process/run.js';
import { buildBusyboxImage } from '../engine/image/busybox-image.js';
import { createCgroup } from './cgroup.js';
import { createHost } from './netns.js';
import { labPaths, REGISTRY_ADDR, REGISTRY_HOST } from './paths.js';
import type { ProcessRef } from './processes.js';
import type { RegistryState } from './state.js';

/**
 * The lab's registry host `reg` (192.168.77.5; docs/architecture.md, "Address plan"): a namespace on the lab's
 * switch running Debian's docker-registry, holding the busybox test image, so pulls in the lab
 * cross the lab's own network, nothing leaves the machine, and the registry outlives the crash
 * of any daemon host. Its process sits in a cgroup under the lab's and its files under the lab's
 * directory, so `lab down` ends and removes both; the namespace is removed by teardown by name.
 */
export const REGISTRY_PORT = 5000;
export const LAB_REGISTRY = `${REGISTRY_ADDR}:${REGISTRY_PORT}`;
/** The test image's name inside the registry. */
export const LAB_TEST_IMAGE_PATH = 'lab/busybox:1';
/** The test image as the lab's daemons name it. */
export const LAB_TEST_IMAGE = `${LAB_REGISTRY}/${LAB_TEST_IMAGE_PATH}`;
/** What every lab host's tswarmd needs to pull from it over plain HTTP. */
export const LAB_REGISTRY_DAEMON_ARGS: readonly string[] = ['--insecure-registry', LAB_REGISTRY];

/** Applets the engine's scenario tests and benchmarks use beyond the fixture's base set. */
const TEST_APPLETS = [
  'httpd',
  'seq',
  'dd',
  'head',
  'ip',
  'grep',
  'wc',
  'mkdir',
  'cut',
  'tr',
  'env',
  'ps',
  'kill',
  'hostname',
];
/** The programs the registry host needs (Debian: docker-registry, skopeo, umoci, busybox-static). */
const REQUIRED_TOOLS = ['docker-registry', 'skopeo', 'umoci'];
const BUSYBOX = '/bin/busybox';
const START_TIMEOUT_MS = 15_000;
const TOOL_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 10_000;

export interface LabRegistry {
  /** 192.168.77.5:5000 */
  host: string;
  image: string;
  /** The registry host's directory: its config, storage, log, and the test image's OCI layout (`oci/`). */
  dir: string;
  /** The registry's log: one line per request served (its access log). */
  logFile: string;
  pid: number;
  /** Requests served so far whose path contains `pathPart`, read from the access log. */
  countRequests(pathPart: string): Promise<number>;
}

/** The registry host's record in the lab state, before anything is made. */
export function planRegistry(lab: string): RegistryState {
  const dir = labPaths.hostDir(lab, REGISTRY_HOST);
  return {
    name: REGISTRY_HOST,
    addr: REGISTRY_ADDR,
    address: LAB_REGISTRY,
    image: LAB_TEST_IMAGE,
    netns: labPaths.hostNetns(lab, REGISTRY_HOST),
    dir,
    logFile: join(dir, 'registry.log'),
    pid: 0,
    startTime: '',
  };
}

/** `daemonArgs` with `--insecure-registry 192.168.77.5:5000` added once, whatever the caller passed. */
export function withRegistryDaemonArgs(daemonArgs: readonly string[] = []): string[] {
  const present = daemonArgs.some(
    (arg, i) =>
      (arg === '--insecure-registry' && daemonArgs[i + 1] === LAB_REGISTRY) ||
      arg === `--insecure-registry=${LAB_REGISTRY}`,
  );
  return present ? [...daemonArgs] : [...daemonArgs, ...LAB_REGISTRY_DAEMON_ARGS];
}

/** What tests and benchmarks use of a running registry. */
export function registryView(reg: RegistryState): LabRegistry {
  const countRequests = async (pathPart: string) =>
    (await readFile(reg.logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.includes('response completed') && l.includes(pathPart)).length;
  return { host: reg.address, image: reg.image, dir: reg.dir, logFile: reg.logFile, pid: reg.pid, countRequests };
}

async function onPath(tool: string): Promise<boolean> {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  for (const dir of dirs) {
    if (
      await access(join(dir, tool)).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/** Fails before the lab makes anything when a program the registry needs is missing. */
export async function requireRegistryTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) if (!(await onPath(tool))) missing.push(tool);
  if (
    !(await access(BUSYBOX).then(
      () => true,
      () => false,
    ))
  )
    missing.push(BUSYBOX);
  if (missing.length > 0) {
    throw new TswarmError(
      'UNSUPPORTED_HOST',
      `the lab registry needs ${missing.join(', ')}, which this machine lacks. Run ./scripts/setup.sh (apt-get install docker-registry skopeo umoci busybox-static), or bring the lab up with --no-registry`,
    );
  }
}

/** Runs `argv` inside the registry host: its cgroup first, then its network namespace. */
export function inRegistryHost(lab: string, argv: readonly string[]): [string, string[]] {
  const procs = join(labPaths.cgroupHost(lab, REGISTRY_HOST), 'cgroup.procs');
  const quoted = [`--net=${labPaths.netnsPath(labPaths.hostNetns(lab, REGISTRY_HOST))}`, '--', ...argv]
    .map((w) => `'${w.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  return ['/bin/sh', ['-c', `echo $$ > '${procs}' && exec nsenter ${quoted}`]];
}

/** A registry's config: its storage, its port, and with `htpasswdPath`, Basic auth against that file. */
export function registryConfig(dataDir: string, port = REGISTRY_PORT, htpasswdPath?: string): string {
  // Info level: the registry then logs each request it served, which tests count.
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dataDir}`,
    ...(htpasswdPath ? ['auth:', '  htpasswd:', '    realm: tswarm-lab', `    path: ${htpasswdPath}`] : []),
    'http:',
    `  addr: 0.0.0.0:${port}`,
    '',
  ].join('\n');
}

/**
 * True when a registry answers /v2/ on `port` from inside its namespace (the root namespace has
 * no route to the lab): 200, or 401 from one that wants a login.
 */
export async function registryAnswers(lab: string, port = REGISTRY_PORT): Promise<boolean> {
  const probe = `fetch('http://127.0.0.1:${port}/v2/').then((r) => process.exit(r.status === 200 || r.status === 401 ? 0 : 1), () => process.exit(1))`;
  const [cmd, args] = inRegistryHost(lab, [process.execPath, '-e', probe]);
  return (await run(cmd, args, { timeoutMs: PROBE_TIMEOUT_MS, allowFailure: true })).code === 0;
}

/** Makes the registry host's directory, cgroup and network namespace (on the lab's switch). */
export async function createRegistryHost(lab: string, reg: RegistryState): Promise<void> {
  await mkdir(join(reg.dir, 'data'), { recursive: true, mode: 0o755 });
  await createCgroup(labPaths.cgroupHost(lab, reg.name));
  await createHost(lab, reg.name, reg.addr);
}

/**
 * Starts the registry in its host, waits until it answers, and pushes the busybox test image as
 * LAB_TEST_IMAGE. The host must exist (createRegistryHost). Returns the registry process.
 */
export async function startRegistry(lab: string, reg: RegistryState, signal?: AbortSignal): Promise<ProcessRef> {
  const config = join(reg.dir, 'config.yml');
  await writeFile(config, registryConfig(join(reg.dir, 'data')));
  const started = await launchRegistry(lab, { config, logFile: reg.logFile, address: reg.address }, signal);
  await pushTestImage(lab, join(reg.dir, 'oci'));
  return started;
}

/**
 * Starts `docker-registry serve CONFIG` in the registry host, in its cgroup (so `lab down` ends
 * it), and waits until it answers on the port `address` names.
 */
export async function launchRegistry(
  lab: string,
  r: { config: string; logFile: string; address: string },
  signal?: AbortSignal,
): Promise<ProcessRef> {
  const port = Number(r.address.split(':')[1] ?? REGISTRY_PORT);
  const logFd = openSync(r.logFile, 'a', 0o644);
  const [cmd, args] = inRegistryHost(lab, ['docker-registry', 'serve', r.config]);
  // Detached and unreferenced: it lives as long as the lab; teardown ends it through the lab's cgroup.
  const child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  child.unref();
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (err) =>
      reject(new TswarmError('INTERNAL', `cannot start the lab registry: ${err.message}`, { cause: err })),
    );
  });
  // sh execs nsenter, which execs docker-registry: one pid, one start time, for the whole chain.
  const startTime = processStartTime(pid) ?? '';
  await waitFor(
    async () => {
      if (signal?.aborted) throw new TswarmError('FAILED_PRECONDITION', 'interrupted');
      if (child.exitCode !== null)
        throw new TswarmError('INTERNAL', `docker-registry exited with ${child.exitCode}; see ${r.logFile}`);
      return registryAnswers(lab, port);
    },
    { what: `the lab registry to answer on ${r.address}`, timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
  );
  if (signal?.aborted) throw new TswarmError('FAILED_PRECONDITION', 'interrupted');
  return { pid, startTime };
}

/** The test image's tag in the registry host's OCI layout (`<dir>/oci`). */
export const TEST_IMAGE_LAYOUT_TAG = 'busybox';

/** Builds the image in an OCI layout and pushes it from inside the registry host (skopeo over loopback). */
async function pushTestImage(lab: string, layout: string): Promise<void> {
  await buildBusyboxImage(layout, TEST_IMAGE_LAYOUT_TAG, { withChangesLayer: true, applets: TEST_APPLETS });
  await copyToRegistry(lab, layout, TEST_IMAGE_LAYOUT_TAG, `127.0.0.1:${REGISTRY_PORT}/${LAB_TEST_IMAGE_PATH}`);
}

/**
 * Copies `layout:tag` to `dest` (`127.0.0.1:PORT/PATH:TAG`, a registry on the registry host) from
 * inside that host, over plain HTTP, logging in with `creds` ("user:password") if given. Returns
 * the manifest digest the registry now serves under that tag.
 */
export async function copyToRegistry(
  lab: string,
  layout: string,
  tag: string,
  dest: string,
  creds?: string,
): Promise<string> {
  const digestFile = join(layout, `.pushed-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const [cmd, args] = inRegistryHost(lab, [
    'skopeo',
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--digestfile',
    digestFile,
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${layout}:${tag}`,
    `docker://${dest}`,
  ]);
  await run(cmd, args, { timeoutMs: TOOL_TIMEOUT_MS });
  const digest = (await readFile(digestFile, 'utf8')).trim();
  await rm(digestFile, { force: true });
  return digest;
}
