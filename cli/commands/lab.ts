import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { Lab, type HostStatus } from '../../lab/lab.js';
import { pruneLabs } from '../../lab/prune.js';
import { DEMO_SERVICE_NAME, startDemoService } from '../../lab/demo-service.js';
import { formSwarm } from '../../lab/form-swarm.js';
import { DEFAULT_LAB_NAME, parseHostEngineLabel } from '../../lab/plan.js';
import { TswarmError } from '../../lib/errors.js';
import { ExitWith } from '../exit-with.js';

function parseCount(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new TswarmError('USAGE', `invalid ${flag} "${value}". Use a whole number`);
    return Number(value);
  };
}

function statusTable(hosts: readonly HostStatus[]): string {
  const partitioned = hosts.some((h) => h.group > 0);
  const headers = ['HOST', 'ROLE', 'ADDRESS', 'PID', 'STATE', ...(partitioned ? ['GROUP'] : [])];
  const rows = hosts.map((h) => [
    h.name,
    h.role,
    h.addr,
    h.pid > 0 ? String(h.pid) : '-',
    h.state,
    ...(partitioned ? [String(h.group)] : []),
  ]);
  return formatTable(headers, rows);
}

/** What to try next after `lab up`: the swarm, and a container from the lab registry. */
function upHints(created: Lab, swarm: boolean, demo: { replicas: number } | undefined): string {
  const nameFlag = created.name === DEFAULT_LAB_NAME ? '' : ` --name ${created.name}`;
  const first = created.hosts[0]?.name ?? 'm1';
  const lines: string[] = [];
  if (swarm) lines.push(`The hosts form a swarm: try \`tswarm lab exec${nameFlag} ${first} -- tswarm node ls\`.`);
  if (demo)
    lines.push(
      `The service ${DEMO_SERVICE_NAME} runs ${demo.replicas} replicas, one per host: try \`tswarm lab exec${nameFlag} ${first} -- tswarm service ps ${DEMO_SERVICE_NAME}\`.`,
    );
  const reg = created.registry;
  if (reg)
    lines.push(
      `The lab registry ${reg.host} holds ${reg.image}: try \`tswarm lab exec${nameFlag} ${first} -- tswarm run --rm ${reg.image} echo hi\`.`,
    );
  return lines.length > 0 ? `\n${lines.join('\n')}\n` : '';
}

const nameOption = () => new Option('--name <name>', 'the lab to act on').default(DEFAULT_LAB_NAME);

export function registerLab(program: Command, ctx: () => CliContext): void {
  const lab = program
    .command('lab')
    .description('Several tswarm hosts on this machine, each a network namespace with its own daemon (needs root)')
    .enablePositionalOptions();

  lab
    .command('up')
    .description(
      'Create the lab hosts m1…mM and w1…wW, start a tswarmd on each, and the registry host reg with the test image',
    )
    .option('--managers <n>', 'number of manager hosts (m1…)', parseCount('--managers'), 3)
    .option('--workers <n>', 'number of worker hosts (w1…)', parseCount('--workers'), 2)
    .addOption(nameOption())
    .option('--log-level <level>', 'the daemons’ log level', 'info')
    .option('--no-swarm', 'only start the daemons; do not init and join a swarm')
    .option('--no-registry', 'do not make the registry host reg (192.168.77.5:5000) with the test image')
    .option('--no-service', `do not start the ${DEMO_SERVICE_NAME} service (needs the swarm and the registry)`)
    .option(
      '--engine-label <host:key=value>',
      'an engine label for one host, e.g. w1:disk=ssd (repeatable)',
      (text: string, all: Record<string, Record<string, string>>) => {
        const { host, key, value } = parseHostEngineLabel(text);
        return { ...all, [host]: { ...all[host], [key]: value } };
      },
      {},
    )
    .option('-f, --format <format>', 'output format: table or json')
    .action(
      async (opts: {
        engineLabel: Record<string, Record<string, string>>;
        managers: number;
        workers: number;
        name: string;
        logLevel: string;
        swarm: boolean;
        registry: boolean;
        service: boolean;
        format?: string;
      }) => {
        const format = parseFormat(opts.format);
        const abort = new AbortController();
        const onInterrupt = () => abort.abort();
        process.once('SIGINT', onInterrupt);
        process.once('SIGTERM', onInterrupt);
        try {
          const created = await Lab.up({
            managers: opts.managers,
            workers: opts.workers,
            name: opts.name,
            logLevel: opts.logLevel,
            registry: opts.registry,
            engineLabels: opts.engineLabel,
            signal: abort.signal,
          });
          let demo: { replicas: number } | undefined;
          if (opts.swarm) {
            try {
              await formSwarm(created);
              if (opts.service && created.registry) demo = await startDemoService(created, created.registry.image);
            } catch (err) {
              const explained = await created.explainFailure(err, { swarm: true });
              await created.down();
              throw explained;
            }
          }
          const hosts = await created.status();
          ctx().out(format === 'json' ? formatJson({ name: created.name, hosts }) : statusTable(hosts));
          if (format !== 'json') ctx().out(upHints(created, opts.swarm, demo));
        } finally {
          process.off('SIGINT', onInterrupt);
          process.off('SIGTERM', onInterrupt);
        }
      },
    );

  lab
    .command('status')
    .description('Show the lab’s hosts and whether their daemons run and answer')
    .addOption(nameOption())
    .option('-f, --format <format>', 'output format: table or json')
    .action(async (opts: { name: string; format?: string }) => {
      const format = parseFormat(opts.format);
      const l = await Lab.open(opts.name);
      const hosts = await l.status();
      ctx().out(format === 'json' ? formatJson({ name: l.name, hosts }) : statusTable(hosts));
    });

  lab
    .command('registry')
    .description('Print the lab registry’s address and the test image it holds')
    .addOption(nameOption())
    .option('-q, --quiet', 'print only the address (HOST:PORT)')
    .action(async (opts: { name: string; quiet?: boolean }) => {
      const reg = (await Lab.open(opts.name)).requireRegistry();
      ctx().out(
        opts.quiet
          ? `${reg.host}\n`
          : `Registry:   ${reg.host} (plain HTTP; every lab daemon lists it as an insecure registry)\nTest image: ${reg.image}\n`,
      );
    });

  lab
    .command('exec')
    .description('Run a command on a host: in its network namespace, with `tswarm` on PATH talking to its daemon')
    .addOption(nameOption())
    .argument('<host>', 'the host, e.g. m1')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .passThroughOptions()
    .action(async (host: string, command: string[], opts: { name: string }) => {
      const argv = command[0] === '--' ? command.slice(1) : command;
      if (argv.length === 0)
        throw new TswarmError('USAGE', 'no command given. Use `tswarm lab exec HOST -- COMMAND [ARG...]`');
      const l = await Lab.open(opts.name);
      const child = l.spawn(host, argv, 'inherit');
      const code = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 + 9 : 1)));
      });
      process.exitCode = code;
      if (code !== 0) throw new ExitWith(code);
    });

  lab
    .command('env')
    .description('Print the shell commands that point the tswarm CLI at a host’s daemon: eval "$(tswarm lab env m1)"')
    .addOption(nameOption())
    .argument('<host>', 'the host, e.g. m1')
    .action(async (host: string, opts: { name: string }) => {
      const l = await Lab.open(opts.name);
      const env = l.env(host);
      const lines = Object.entries(env).map(([k, v]) => `export ${k}=${v}`);
      ctx().out(
        `${lines.join('\n')}\n# Run this command to configure your shell:\n# eval "$(tswarm lab env ${host}${opts.name === DEFAULT_LAB_NAME ? '' : ` --name ${opts.name}`})"\n`,
      );
    });

  const hostAction = (verb: 'stop' | 'start' | 'kill' | 'crash', description: string) =>
    lab
      .command(verb)
      .description(description)
      .addOption(nameOption())
      .argument('<host>', 'the host, e.g. m1')
      .action(async (host: string, opts: { name: string }) => {
        const l = await Lab.open(opts.name);
        await l[verb](host);
        ctx().out(`${host}\n`);
      });
  hostAction('stop', 'Stop a host’s daemon gracefully (SIGTERM)');
  hostAction('start', 'Start a host’s daemon again');
  hostAction('kill', 'Kill a host’s daemon alone with SIGKILL (a daemon crash: its containers keep running)');
  hostAction('crash', 'Kill every process of a host with SIGKILL (a machine crash)');

  lab
    .command('partition')
    .description('Split the network: only hosts in the same group reach each other; unnamed hosts form one more group')
    .addOption(nameOption())
    .argument('<groups...>', 'groups of hosts, e.g. `m1,m2 m3,w1` or just `m1`')
    .action(async (groups: string[], opts: { name: string }) => {
      const l = await Lab.open(opts.name);
      const applied = await l.partition(groups);
      ctx().out(applied.map((g, i) => `group ${i + 1}: ${g.join(',')}`).join('\n') + '\n');
    });

  lab
    .command('heal')
    .description('Undo a partition: every host reaches every other again')
    .addOption(nameOption())
    .action(async (opts: { name: string }) => {
      const l = await Lab.open(opts.name);
      await l.heal();
    });

  lab
    .command('down')
    .description('Stop every daemon and remove all the lab made: namespaces, links, mounts, cgroups, data')
    .addOption(nameOption())
    .action(async (opts: { name: string }) => {
      const l = await Lab.open(opts.name);
      const report = await l.down();
      ctx().out(
        `lab "${l.name}" is down: removed ${report.netns.length} network namespaces and ${report.mounts.length} mounts\n`,
      );
    });

  lab
    .command('prune')
    .description('Tear down every lab on this machine and remove whatever a crashed run left behind')
    .action(async () => {
      const r = await pruneLabs();
      ctx().out(
        `pruned: ${r.labs.length} labs, ${r.netns.length} network namespaces, ${r.cgroups.length} cgroups, ${r.mounts.length} mounts\n`,
      );
    });
}
