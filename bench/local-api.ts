import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { run } from '../lib/process/run.js';
import { binDir } from '../lib/paths.js';
import { formatMs, summarize } from './stats.js';

/**
 * The local API through two clients: tswarm's own CLI and the docker CLI (28.2 on these
 * machines), each against one lab host's tswarmd over its Unix socket: a client's start alone
 * (`--version`), a list (`ps`), and `run --rm IMAGE true`. The clients take turns within each
 * round, so a noisy machine hurts them alike. `docker --version` is the docker CLI's own start
 * (a Go binary), the baseline a Node CLI's start is measured against.
 */
const RUNS = 30;
const TSWARM_BIN = join(binDir(), 'tswarm');
const DOCKER_BIN = '/usr/local/bin/docker';

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const r = await run(cmd, args, { timeoutMs: 60_000, env, allowFailure: true });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return ms;
}

export async function benchLocalApi(): Promise<void> {
  const lab = await Lab.up({ name: 'benchapi', managers: 1, workers: 0, registry: true, logLevel: 'warn' });
  try {
    const image = lab.requireRegistry().image;
    const host = lab.hosts.find((h) => h.name === 'm1')!;
    const env = {
      ...process.env,
      ...lab.env('m1'),
      DOCKER_HOST: `unix://${host.socket}`,
      DOCKER_CONFIG: '/nonexistent',
    };
    await timed(TSWARM_BIN, ['pull', image], env);
    const cases: [string, string, string[]][] = [
      ['tswarm --version', TSWARM_BIN, ['--version']],
      ['docker --version (client only)', DOCKER_BIN, ['--version']],
      ['tswarm ps', TSWARM_BIN, ['ps']],
      ['docker ps', DOCKER_BIN, ['ps']],
      ['tswarm run --rm IMAGE true', TSWARM_BIN, ['run', '--rm', image, 'true']],
      ['docker run --rm IMAGE true', DOCKER_BIN, ['run', '--rm', image, 'true']],
    ];
    const samples = new Map<string, number[]>(cases.map(([label]) => [label, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const [label, cmd, args] of cases) samples.get(label)!.push(await timed(cmd, args, env));
    }
    process.stdout.write(`local API clients (${RUNS} runs each, interleaved), image ${image}\n`);
    for (const [label] of cases)
      process.stdout.write(`  ${label.padEnd(36)} ${formatMs(summarize(samples.get(label)!))}\n`);
    const ratio = (a: string, b: string) => {
      const r = summarize(samples.get(a)!).median / summarize(samples.get(b)!).median;
      process.stdout.write(`  ${`${a} / ${b}`.padEnd(60)} ${r.toFixed(2)}x\n`);
    };
    ratio('tswarm ps', 'docker ps');
    ratio('tswarm run --rm IMAGE true', 'docker run --rm IMAGE true');
  } finally {
    await lab.down();
  }
}
