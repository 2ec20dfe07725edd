import { TswarmError } from '../../lib/errors.js';
import type { OciImageConfig } from '../image-contract.js';
import type { ContainerSpec, HealthConfig } from '../../gen/tswarm/v1/objects.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_HEALTH, DEFAULT_PATH } from './defaults.js';
import { checkCapability, normalizeSignal } from '../../lib/linux-names.js';

export { normalizeSignal };

/**
 * Docker's rule for what a container runs: `command` replaces the image's Entrypoint, `args`
 * replaces its Cmd, and a command given without args drops the image's Cmd (it belonged to the
 * entrypoint that was replaced).
 */
export function resolveArgv(image: OciImageConfig, spec: Pick<ContainerSpec, 'command' | 'args'>): string[] {
  const entrypoint = spec.command.length > 0 ? spec.command : (image.Entrypoint ?? []);
  let cmd: string[];
  if (spec.args.length > 0) cmd = spec.args;
  else if (spec.command.length > 0) cmd = [];
  else cmd = image.Cmd ?? [];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      'no command to run: the image has no Entrypoint or Cmd and the spec gives none. Give a command',
    );
  }
  return argv;
}

/** Docker's exit code for a command the runtime could not run: the message decides, as `docker run`'s does. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_ENGINE_ERROR = 125;

/**
 * Why a runtime could not start a command, as Docker's CLI tells it (runStartContainerErr): 127
 * when the executable is not there, 126 when it is there but cannot be executed (no permission, a
 * directory), and 125 for anything else — a mount, a cgroup, a seccomp failure is the engine's,
 * not the command's.
 */
export function cannotRunExitCode(message: string): number {
  if (/executable file .*not found|no such file or directory|cannot find the file/i.test(message))
    return EXIT_NOT_FOUND;
  // crun says EPERM for a directory given as the command (runc: "is a directory").
  if (/permission denied|is a directory|executable: operation not permitted/i.test(message)) return EXIT_CANNOT_EXECUTE;
  return EXIT_ENGINE_ERROR;
}

/** Image env, then spec env overriding by key; PATH defaulted, HOSTNAME and HOME as Docker sets them. */
export function mergeEnv(
  imageEnv: readonly string[],
  specEnv: readonly string[],
  defaults: Record<string, string>,
): string[] {
  const merged = new Map<string, string>();
  for (const [key, value] of Object.entries(defaults)) merged.set(key, value);
  for (const entry of [...imageEnv, ...specEnv]) {
    const eq = entry.indexOf('=');
    // A bare "KEY" in Docker means "take it from the client's environment"; here it has none.
    if (eq <= 0) continue;
    merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (!merged.has('PATH')) merged.set('PATH', DEFAULT_PATH);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

/**
 * Docker's capability arithmetic (moby TweakCapabilities): adding ALL gives every capability but
 * the dropped ones; dropping ALL gives only the added ones; otherwise the default set minus the
 * dropped plus the added (an add wins over a drop). Unknown names are an error, not ignored.
 */
export function resolveCapabilities(capAdd: readonly string[], capDrop: readonly string[]): string[] {
  const add = capAdd.map(checkCapability);
  const drop = capDrop.map(checkCapability);
  let caps: Set<string>;
  if (add.includes('ALL')) caps = new Set(ALL_CAPABILITIES.filter((c) => !drop.includes(c)));
  else if (drop.includes('ALL')) caps = new Set(add);
  else caps = new Set([...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add]);
  return ALL_CAPABILITIES.filter((c) => caps.has(c));
}

/** The stop signal: the spec's, else the image's STOPSIGNAL, else SIGTERM. */
export function resolveStopSignal(image: OciImageConfig, spec: Pick<ContainerSpec, 'stopSignal'>): string {
  return normalizeSignal(spec.stopSignal || image.StopSignal || 'SIGTERM');
}

const NS_PER_MS = 1_000_000;

/**
 * The health check in force, merged as Docker merges a container's with its image's: the spec's
 * test if it gives one, else the image's HEALTHCHECK (durations in ns there); each timing the
 * spec's if set, else the image's, else Docker's default — so `--health-interval 5s` alone retimes
 * the image's check. Undefined when there is no test or it is ["NONE"].
 */
export function resolveHealth(
  image: OciImageConfig,
  spec: Pick<ContainerSpec, 'healthcheck'>,
): HealthConfig | undefined {
  const given = spec.healthcheck;
  const img = image.Healthcheck;
  const fromImage: HealthConfig | undefined =
    img?.Test && img.Test.length > 0
      ? {
          test: img.Test,
          intervalMs: (img.Interval ?? 0) / NS_PER_MS,
          timeoutMs: (img.Timeout ?? 0) / NS_PER_MS,
          retries: img.Retries ?? 0,
          startPeriodMs: (img.StartPeriod ?? 0) / NS_PER_MS,
        }
      : undefined;
  const test = given && given.test.length > 0 ? given.test : fromImage?.test;
  if (!test || test[0] === 'NONE') return undefined;
  const kind = test[0];
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `health check test must start with CMD, CMD-SHELL or NONE, not "${kind}"`,
    );
  }
  return {
    test,
    intervalMs: given?.intervalMs || fromImage?.intervalMs || DEFAULT_HEALTH.intervalMs,
    timeoutMs: given?.timeoutMs || fromImage?.timeoutMs || DEFAULT_HEALTH.timeoutMs,
    retries: given?.retries || fromImage?.retries || DEFAULT_HEALTH.retries,
    startPeriodMs: given?.startPeriodMs || fromImage?.startPeriodMs || DEFAULT_HEALTH.startPeriodMs,
  };
}

/** The argv a health check runs inside the container. */
export function healthArgv(test: readonly string[]): string[] {
  return test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test.slice(1);
}
