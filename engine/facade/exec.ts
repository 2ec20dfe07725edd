import { TswarmError } from '../../lib/errors.js';
import { cannotRunExitCode, EXIT_ENGINE_ERROR } from '../runtime/process.js';
import type { ContainerRuntime, ExecResult } from '../runtime/runtime.js';

/** An exec's bound when the caller gives none (`docker exec` has none; every wait here has one). */
const EXEC_TIMEOUT_MS_MAX = 30 * 60_000;
/** Output an exec returns per stream; more is cut (use logs or a file in a volume for bulk). */
const EXEC_OUTPUT_BYTES_MAX = 4 * 1024 * 1024;

/** `docker exec` without a TTY: the command's output (bounded) and exit code. */
export async function execInContainer(
  runtime: ContainerRuntime,
  ref: string,
  command: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> {
  if (command.length === 0 || command[0] === '')
    throw new TswarmError('INVALID_ARGUMENT', 'exec needs a command, e.g. "tswarm container exec web -- ls /"');
  const r = await runtime.exec(ref, command, {
    timeoutMs: timeoutMs || EXEC_TIMEOUT_MS_MAX,
    outputBytesMax: EXEC_OUTPUT_BYTES_MAX,
  });
  // The runtime ends a command it could not start with 255; Docker's codes say why, with the
  // same split as a container's start. A 255 without such a message is the command's own.
  if (r.exitCode !== 255) return r;
  const code = cannotRunExitCode(r.stderr.toString('utf8'));
  return code === EXIT_ENGINE_ERROR ? r : { ...r, exitCode: code };
}
