import { TswarmError } from '../../lib/errors.js';
import type { ContainerRunResponse } from '../../gen/tswarm/v1/engine.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from '../runtime/process.js';

/** Receives `run` events in order; a returned promise holds the stream back (backpressure). */
export type RunEventSink = (event: ContainerRunResponse) => void | Promise<void>;

export interface AttachOptions {
  attach: boolean;
  signal?: AbortSignal;
  onEvent: RunEventSink;
  /** Called once the container runs and its exit is being waited for. */
  onStarted: () => void;
  /** Runs after the output was read, before the exit code is sent (auto-remove, as `docker run --rm` waits for it). */
  beforeExitCode: () => Promise<void>;
}

export function stderrEvent(text: string): ContainerRunResponse {
  return { output: { timestampMs: Date.now(), stream: 'stderr', data: Buffer.from(text), nodeId: '', taskId: '' } };
}

/** Docker's codes for a command that cannot run: 126 cannot execute, 127 not found; else the engine failed (125, the CLI's). */
function cannotRunCode(runtime: ContainerRuntime, id: string): number | undefined {
  const code = runtime.inspect(id).container.state?.exitCode;
  return code === EXIT_CANNOT_EXECUTE || code === EXIT_NOT_FOUND ? code : undefined;
}

/**
 * Starts a created container and, when attached, streams its output and then its exit code. The
 * exit wait begins right after start resolves — before any timer can run — so even an
 * instant exit is seen. A client that goes away (signal) stops the stream, not the container.
 */
export async function runAttached(
  runtime: ContainerRuntime,
  id: string,
  o: AttachOptions,
  onStartFailed: () => Promise<void>,
): Promise<void> {
  try {
    await runtime.start(id);
  } catch (err) {
    const exitCode = cannotRunCode(runtime, id);
    await onStartFailed();
    if (exitCode === undefined || !(err instanceof TswarmError)) throw err;
    await o.onEvent(
      stderrEvent(`Error: ${err.message.replace(/\.?\s*$/, '')}. Check the command and that it exists in the image.\n`),
    );
    await o.onEvent({ exitCode });
    return;
  }
  const exited = runtime.wait(id);
  exited.catch(() => undefined);
  o.onStarted();
  if (!o.attach) return;
  for await (const r of runtime.logs(id, { follow: true, ...(o.signal ? { signal: o.signal } : {}) })) {
    await o.onEvent({ output: { timestampMs: r.timestampMs, stream: r.stream, data: r.data, nodeId: '', taskId: '' } });
  }
  if (o.signal?.aborted) return;
  const result = await exited;
  await o.beforeExitCode();
  await o.onEvent({ exitCode: result.exitCode });
}
