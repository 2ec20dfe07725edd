import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  ServerReadableStream,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { toServiceError, TswarmError } from '../lib/errors.js';
import { unaryHandler } from '../lib/grpc.js';
import * as api from '../gen/tswarm/v1/engine.js';
import type { LogLine } from '../gen/tswarm/v1/objects.js';
import type { Engine } from '../engine/engine.js';
import { requireText, validateContainerConfig, validateLabels, validateVolumeName } from '../engine/facade/validate.js';

/** `docker load` of a multi-gigabyte image is normal; beyond this a client is broken or hostile. */
import { LOAD_BYTES_MAX } from './api/image-pull.js';
/** Clients send chunks of 1 MiB; anything far larger is refused before it is buffered further. */
const LOAD_CHUNK_BYTES_MAX = 8 * 1024 * 1024;
/** Log lines per message when reading a finished log (follow sends them as they come). */
const LOG_BATCH_LINES = 256;
/** A stop waits out the grace period; more than a day is a mistake. */
const STOP_TIMEOUT_MS_MAX = 24 * 3600 * 1000;
const ID_CHARS_MAX = 256;

const cancelledError = () => new TswarmError('UNAVAILABLE', 'the client went away');

/**
 * A server stream: `send` resolves when the message is buffered, waiting for 'drain' when the
 * client reads slowly (so a slow reader slows the producer instead of growing memory); `signal`
 * aborts when the client cancels or the call closes, and a pending send then rejects.
 */
function serverStream<Req, Res>(
  handler: (req: Req, send: (msg: Res) => Promise<void>, signal: AbortSignal) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const ac = new AbortController();
    const abort = () => ac.abort();
    call.on('cancelled', abort);
    call.on('close', abort);
    call.on('error', abort);
    const send = (msg: Res) =>
      new Promise<void>((resolve, reject) => {
        if (ac.signal.aborted) return reject(cancelledError());
        if (call.write(msg)) return resolve();
        const done = (err?: Error) => {
          call.off('drain', onDrain);
          ac.signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = () => done();
        const onAbort = () => done(cancelledError());
        call.once('drain', onDrain);
        ac.signal.addEventListener('abort', onAbort, { once: true });
      });
    // Through a promise, so a handler that throws before its first await still sends a status.
    Promise.resolve()
      .then(() => handler(call.request, send, ac.signal))
      .then(
        () => {
          if (!ac.signal.aborted) call.end();
        },
        (err: unknown) => {
          // grpc-js turns an 'error' event into the call's status; destroy() would skip sending it.
          if (!ac.signal.aborted)
            call.emit(
              'error',
              Object.assign(new Error(err instanceof Error ? err.message : String(err)), toServiceError(err)),
            );
        },
      );
  };
}

/** The client's chunks as bytes, refusing a stream past `LOAD_BYTES_MAX`; async iteration gives backpressure. */
async function* loadChunks(
  call: ServerReadableStream<api.ImageLoadRequest, api.ImageLoadResponse>,
): AsyncGenerator<Uint8Array> {
  let totalBytes = 0;
  for await (const req of call as AsyncIterable<api.ImageLoadRequest>) {
    if (req.chunk.length > LOAD_CHUNK_BYTES_MAX)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `an archive chunk of ${req.chunk.length} bytes is over the ${LOAD_CHUNK_BYTES_MAX}-byte limit. Send chunks of 1 MiB`,
      );
    totalBytes += req.chunk.length;
    if (totalBytes > LOAD_BYTES_MAX)
      throw new TswarmError(
        'RESOURCE_EXHAUSTED',
        `the archive is larger than ${LOAD_BYTES_MAX} bytes. Load a smaller archive, or pull the image from a registry`,
      );
    if (req.chunk.length > 0) yield req.chunk;
  }
}

function imageLoad(engine: Engine): handleClientStreamingCall<api.ImageLoadRequest, api.ImageLoadResponse> {
  return (call, callback) => {
    engine.images.load(loadChunks(call)).then(
      (images) => callback(null, { images }),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

function toLogLine(r: { timestampMs: number; stream: string; data: Buffer }): LogLine {
  return { timestampMs: r.timestampMs, stream: r.stream, data: r.data, nodeId: '', taskId: '' };
}

function requireId(id: string): string {
  return requireText('the container ID or name', id, ID_CHARS_MAX);
}

function containerConfig(partial: api.ContainerConfig | undefined): api.ContainerConfig {
  if (!partial)
    throw new TswarmError('INVALID_ARGUMENT', 'the request has no container config. Give at least an image');
  const config = api.ContainerConfig.fromPartial(partial);
  validateContainerConfig(config);
  return config;
}

function imageService(engine: Engine): UntypedServiceImplementation {
  return {
    imagePull: serverStream<api.ImagePullRequest, api.ImagePullResponse>(async (req, send) => {
      const ref = requireText('the image reference', req.reference);
      // Progress comes as callbacks during the pull; sends are chained so they stay in order.
      let chain = Promise.resolve();
      const image = await engine.images.pull(ref, {
        onProgress: (p) => {
          chain = chain.then(() => send({ layers: [p], image: undefined })).catch(() => undefined);
        },
        ...(req.platform?.architecture
          ? { platform: { os: req.platform.os || 'linux', architecture: req.platform.architecture } }
          : {}),
      });
      await chain;
      await send({ layers: [], image });
    }),
    imageLoad: imageLoad(engine),
    imageList: unaryHandler<api.ImageListRequest, api.ImageListResponse>(async (req) => {
      const images = await engine.images.list();
      const wanted = new Set(req.references);
      return {
        images:
          wanted.size === 0 ? images : images.filter((i) => i.repoTags.some((t) => wanted.has(t)) || wanted.has(i.id)),
      };
    }),
    imageInspect: unaryHandler<api.ImageInspectRequest, api.ImageInspectResponse>(async (req) =>
      engine.images.inspect(requireText('the image reference', req.reference)),
    ),
    imageRemove: unaryHandler<api.ImageRemoveRequest, api.ImageRemoveResponse>(async (req) =>
      engine.images.remove(requireText('the image reference', req.reference), { force: req.force }),
    ),
    imagePrune: unaryHandler<api.ImagePruneRequest, api.ImagePruneResponse>(async (req) =>
      engine.images.prune({ all: req.all }),
    ),
    login: unaryHandler<api.LoginRequest, api.LoginResponse>(async (req) => {
      requireText('the registry', req.registry);
      if (req.username === '' || req.password === '')
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'login needs a username and a password. Give -u USER and -p PASS (or --password-stdin)',
        );
      if (req.username.length > 256 || req.password.length > 8192)
        throw new TswarmError('INVALID_ARGUMENT', 'the username or password is too long. Check what you passed');
      return engine.images.login(req.registry, req.username, req.password);
    }),
    logout: unaryHandler<api.LogoutRequest, api.LogoutResponse>(async (req) => {
      const registry = requireText('the registry', req.registry);
      if (!(await engine.images.logout(registry)))
        throw new TswarmError('NOT_FOUND', `not logged in to ${registry}. Nothing to do`);
      return {};
    }),
  };
}

function containerService(engine: Engine): UntypedServiceImplementation {
  return {
    containerCreate: unaryHandler<api.ContainerCreateRequest, api.ContainerCreateResponse>(async (req) =>
      engine.containerCreate(containerConfig(req.config)),
    ),
    containerStart: unaryHandler<api.ContainerStartRequest, api.ContainerStartResponse>(async (req) => {
      await engine.containerStart(requireId(req.id));
      return {};
    }),
    containerKill: unaryHandler<api.ContainerKillRequest, api.ContainerKillResponse>(async (req) => {
      if (req.signal.length > 32)
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'the signal name is too long. Give a name such as SIGTERM or a number',
        );
      await engine.containerKill(requireId(req.id), req.signal || 'SIGKILL');
      return {};
    }),
    containerStop: unaryHandler<api.ContainerStopRequest, api.ContainerStopResponse>(async (req) => {
      if (req.timeoutMs !== undefined && (req.timeoutMs < 0 || req.timeoutMs > STOP_TIMEOUT_MS_MAX))
        throw new TswarmError(
          'INVALID_ARGUMENT',
          `stop timeout ${req.timeoutMs} ms is out of range. Give 0 to ${STOP_TIMEOUT_MS_MAX / 1000} seconds`,
        );
      await engine.containerStop(requireId(req.id), req.timeoutMs);
      return {};
    }),
    containerRemove: unaryHandler<api.ContainerRemoveRequest, api.ContainerRemoveResponse>(async (req) => {
      await engine.containerRemove(requireId(req.id), { force: req.force, volumes: req.volumes });
      return {};
    }),
    containerList: unaryHandler<api.ContainerListRequest, api.ContainerListResponse>(async (req) => ({
      containers: engine.containerList({ all: req.all, labels: req.labels }),
    })),
    containerInspect: unaryHandler<api.ContainerInspectRequest, api.ContainerInspectResponse>(async (req) =>
      engine.containerInspect(requireId(req.id)),
    ),
    containerWait: unaryHandler<api.ContainerWaitRequest, api.ContainerWaitResponse>(async (req, call) => {
      // A wait outlives the client's patience only until it cancels.
      const id = requireId(req.id);
      const result = await Promise.race([
        engine.containerWait(id),
        new Promise<never>((_, reject) => call.once('cancelled', () => reject(cancelledError()))),
      ]);
      return { exitCode: result.exitCode, oomKilled: result.oomKilled };
    }),
    containerExec: unaryHandler<api.ContainerExecRequest, api.ContainerExecResponse>(async (req) => {
      if (req.timeoutMs < 0)
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'exec timeout is negative. Give 0 for the default or a number of milliseconds',
        );
      const r = await engine.containerExec(requireId(req.id), req.command, req.timeoutMs);
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, truncated: r.truncated };
    }),
    containerStats: unaryHandler<api.ContainerStatsRequest, api.ContainerStatsResponse>(async (req) => ({
      stats: await engine.containerStats(req.ids.map(requireId)),
    })),
    containerRun: serverStream<api.ContainerRunRequest, api.ContainerRunResponse>((req, send, signal) =>
      engine.containerRun(containerConfig(req.config), { attach: req.attach, signal, onEvent: send }),
    ),
    containerLogs: serverStream<api.ContainerLogsRequest, api.ContainerLogsResponse>(async (req, send, signal) => {
      if (req.sinceMs < 0) throw new TswarmError('INVALID_ARGUMENT', 'since is negative. Give a time in the past');
      const lines = engine.containerLogs(requireId(req.id), {
        follow: req.follow,
        tail: req.tail === undefined || req.tail < 0 ? undefined : req.tail,
        sinceMs: req.sinceMs,
        signal,
      });
      let batch: LogLine[] = [];
      for await (const r of lines) {
        batch.push(toLogLine(r));
        // Following, each line goes at once; reading a finished log, lines travel in batches.
        if (req.follow || batch.length >= LOG_BATCH_LINES) {
          await send({ lines: batch });
          batch = [];
        }
      }
      if (batch.length > 0) await send({ lines: batch });
    }),
  };
}

function volumeService(engine: Engine): UntypedServiceImplementation {
  return {
    volumeCreate: unaryHandler<api.VolumeCreateRequest, api.VolumeCreateResponse>(async (req) => {
      validateVolumeName(req.name, true);
      validateLabels(req.labels);
      return { volume: await engine.volumeCreate(req.name, req.labels) };
    }),
    volumeList: unaryHandler<api.VolumeListRequest, api.VolumeListResponse>(async () => ({
      volumes: await engine.volumeList(),
    })),
    volumeInspect: unaryHandler<api.VolumeInspectRequest, api.VolumeInspectResponse>(async (req) => {
      validateVolumeName(req.name);
      return { volume: await engine.volumeInspect(req.name) };
    }),
    volumeRemove: unaryHandler<api.VolumeRemoveRequest, api.VolumeRemoveResponse>(async (req) => {
      validateVolumeName(req.name);
      await engine.volumeRemove(req.name, req.force);
      return {};
    }),
    volumePrune: unaryHandler<api.VolumePruneRequest, api.VolumePruneResponse>(async (req) =>
      engine.volumePrune({ all: req.all }),
    ),
  };
}

/** The node's EngineService on the local socket: images, containers and volumes of this node. */
export function engineService(engine: Engine): UntypedServiceImplementation {
  return { ...imageService(engine), ...containerService(engine), ...volumeService(engine) };
}
