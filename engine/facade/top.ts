import { TswarmError } from '../../lib/errors.js';
import { OUTPUT_BYTES_LIMIT, run } from '../../lib/process/run.js';

/**
 * `docker top`, as dockerd does it (moby daemon/top_unix.go): the host's `ps` with the client's
 * arguments, narrowed with `-q` to the container's PIDs, and only the rows of those PIDs kept.
 */

/** Docker's ContainerTopResponse: ps's header words, and each kept row cut into as many columns. */
export interface TopResult {
  titles: string[];
  processes: string[][];
}

export const DEFAULT_PS_ARGS = '-ef';
/** ps lists a few processes in milliseconds; a host so loaded that it takes this long gets an error. */
export const PS_TIMEOUT_MS = 10_000;
/** The `-q` list is one argument; Linux refuses an argument over 128 KiB (MAX_ARG_STRLEN). */
const PID_LIST_CHARS_MAX = 100_000;
/** Longer ps arguments than any real use: the ps command line stays small. */
export const PS_ARGS_CHARS_MAX = 1_024;

/** ps's failure, worded as dockerd's: `ps: ` and the first line ps printed on stderr. */
function psError(message: string): TswarmError {
  return new TswarmError('INTERNAL', `ps: ${message}`);
}

/**
 * Refuses a ps format that renames the PID column (`-o user=PID`): the rows are matched by that
 * column, so only `pid=` may name it (dockerd's validatePSArgs, and its error, a 500).
 */
export function checkPsArgs(psArgs: string): void {
  if (psArgs.length > PS_ARGS_CHARS_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `ps_args is ${psArgs.length} characters long. Give at most ${PS_ARGS_CHARS_MAX}`,
    );
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g))
    if (m[1] !== 'pid') throw new TswarmError('INTERNAL', `specifying "${m[1]}=${m[2]}" is not allowed`);
}

/** Go's strings.Fields over ASCII whitespace only, as dockerd splits ps's output (moby#24358). */
function fieldsAscii(line: string): string[] {
  return line.split(/[\t\n\f\r ]+/).filter((f) => f !== '');
}

/** A row cut into as many columns as there are titles: the overhanging words (a command's arguments) join the last. */
function toColumns(fields: readonly string[], titleCount: number): string[] {
  return [...fields.slice(0, titleCount - 1), fields.slice(titleCount - 1).join(' ')];
}

/**
 * ps's output narrowed to the rows of `pids`: the first line is the titles, a row whose PID
 * column is one of `pids` is kept, and a thread row (`-` as its PID, from `ps -T`/`m`) follows
 * the process it belongs to. A PID column that is not a number is an error, as in dockerd.
 */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split('\n');
  const titles = fieldsAscii(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  // dockerd's wordings (500s): the rows cannot be matched to the container's PIDs.
  if (pidIndex < 0) throw new TswarmError('INTERNAL', "Couldn't find PID field in ps output");
  const processes: string[][] = [];
  let lastKept = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const fields = fieldsAscii(line);
    const pidField = fields[pidIndex];
    if (pidField === undefined) continue;
    if (pidField === '-') {
      if (lastKept) processes.push(toColumns(fields, titles.length));
      continue;
    }
    if (!/^\d+$/.test(pidField)) throw new TswarmError('INTERNAL', `Unexpected pid '${pidField}': not a number`);
    lastKept = pids.has(Number(pidField));
    if (lastKept) processes.push(toColumns(fields, titles.length));
  }
  return { titles, processes };
}

/** The output, less a last line the runner's output cap may have cut short. */
function untruncated(stdout: string): string {
  if (Buffer.byteLength(stdout) < OUTPUT_BYTES_LIMIT) return stdout;
  return stdout.slice(0, stdout.lastIndexOf('\n') + 1);
}

/**
 * Runs ps with `psArgs` (split on spaces; empty means `-ef`) for the container's `pids` and keeps
 * their rows. Some ps options cannot be combined with `-q` (`f`, say): then, as dockerd, ps runs
 * again without it and the rows are picked from every process's.
 */
export async function psTop(psArgs: string, pids: readonly number[], timeoutMs = PS_TIMEOUT_MS): Promise<TopResult> {
  const args = (psArgs.trim() === '' ? DEFAULT_PS_ARGS : psArgs).split(' ').filter((a) => a !== '');
  const pidList = `-q${pids.join(',')}`;
  const attempts = pids.length > 0 && pidList.length <= PID_LIST_CHARS_MAX ? [[...args, pidList], args] : [args];
  let failure = '';
  for (const argv of attempts) {
    const r = await run('ps', argv, { timeoutMs, allowFailure: true });
    if (r.code === 0) return parsePsOutput(untruncated(r.stdout), new Set(pids));
    failure =
      r.stderr.split('\n').find((l) => l.trim() !== '') ??
      (r.signal ? `killed by ${r.signal} (its deadline is ${timeoutMs} ms)` : `exit status ${r.code}`);
  }
  throw psError(failure.trim());
}
