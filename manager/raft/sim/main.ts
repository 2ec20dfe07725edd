/**
 * Runs the Raft simulation over many seeds:
 *   node dist/manager/raft/sim/main.js --seeds N [--seed S] [--steps K]
 * --seed S runs seeds S .. S+N-1 (default 1); a failure prints its seed and the command that
 * replays it, and the exit code is 1.
 */
import { simFailed, Simulation, type SimResult } from './simulation.js';

interface Args {
  seeds: number;
  firstSeed: number;
  steps: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 100, firstSeed: 1, steps: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === '--seeds' || flag === '--seed' || flag === '--steps') {
      if (!Number.isInteger(value) || value < 0) usage(`${flag} needs a non-negative integer`);
      if (flag === '--seeds') args.seeds = value;
      else if (flag === '--seed') {
        args.firstSeed = value;
        if (!argv.includes('--seeds')) args.seeds = 1;
      } else args.steps = value;
      i++;
    } else {
      usage(`unknown argument ${flag}`);
    }
  }
  return args;
}

function usage(why: string): never {
  process.stderr.write(`Error: ${why}. Usage: main.js --seeds N [--seed S] [--steps K].\n`);
  process.exit(2);
}

function describeFailure(r: SimResult, steps: number): string {
  const lines = [`FAIL seed ${r.seed}:`];
  for (const v of r.violations) lines.push(`  safety: ${v}`);
  if (r.linearizability !== 'ok') lines.push(`  linearizability: ${r.linearizability}`);
  if (r.incomplete > 0)
    lines.push(`  liveness: ${r.incomplete} client operations never completed after the calm phase`);
  lines.push(`  replay: node dist/manager/raft/sim/main.js --seed ${r.seed} --steps ${steps}`);
  return lines.join('\n');
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const startMs = performance.now();
  let failures = 0;
  let operations = 0;
  let crashes = 0;
  let confChanges = 0;
  let leaders = 0;
  let snapshots = 0;
  let readIndexReads = 0;
  for (let seed = args.firstSeed; seed < args.firstSeed + args.seeds; seed++) {
    let r: SimResult;
    try {
      r = new Simulation({ seed, steps: args.steps, calmSteps: 2000, clients: 5 }).run();
    } catch (err) {
      failures++;
      process.stdout.write(
        `FAIL seed ${seed}: threw ${(err as Error).stack}\n  replay: node dist/manager/raft/sim/main.js --seed ${seed} --steps ${args.steps}\n`,
      );
      continue;
    }
    operations += r.operations;
    crashes += r.crashes;
    confChanges += r.confChanges;
    leaders += r.leaders;
    snapshots += r.snapshotsSent;
    readIndexReads += r.readIndexReads;
    if (simFailed(r)) {
      failures++;
      process.stdout.write(describeFailure(r, args.steps) + '\n');
    }
  }
  const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
  process.stdout.write(
    `${args.seeds} seeds (${args.firstSeed}..${args.firstSeed + args.seeds - 1}), ${args.steps} ticks each, in ${seconds} s: ` +
      `${failures} failed; ${operations} client operations checked (${readIndexReads} ReadIndex reads), ${leaders} leaders elected, ` +
      `${crashes} crashes, ${confChanges} membership changes proposed, ${snapshots} snapshots sent\n`,
  );
  process.exitCode = failures > 0 ? 1 : 0;
}

main();
