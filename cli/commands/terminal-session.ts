import type { ApiClient } from '../../lib/api-client/client.js';
import { DetachKeyMatcher, parseDetachKeys, DEFAULT_DETACH_KEYS } from '../../lib/detach-keys.js';
import type { CliContext } from '../context.js';
import { copyOutput, hijackedBytes } from './container-api.js';

/** How long after a window change its size is read again (two quick changes can arrive as one signal). */
const RESIZE_SETTLE_MS = 100;

/** What a hijacked session carries beyond the output. */
export interface SessionOptions {
  /** The stream is one terminal's (raw), not Docker's multiplexed one. */
  tty: boolean;
  /** Send this process's stdin to the container (or exec). */
  stdin: boolean;
  /** Where the terminal's size goes (`/containers/{id}/resize`, `/exec/{id}/resize`), with a TTY. */
  resizePath?: string;
  /** Docker's --detach-keys form; the default Ctrl-P Ctrl-Q. Watched for with a TTY, as the docker CLI does. */
  detachKeys?: string;
}

/** A hijacked session being copied both ways. */
export interface InteractiveSession {
  /** Settles when the daemon ends the stream, or the user detached. */
  done: Promise<void>;
  /** True once the user typed the detach keys (the container keeps running). */
  readonly detached: boolean;
  /** Sends the terminal's size now (after the start), then on every window change. */
  trackSize(): void;
  close(): void;
}

/**
 * Takes over a connection as the docker CLI does for `run -it`, `exec -it` and `attach`: this
 * terminal goes into raw mode (so Ctrl-C and every key go to the container, whose own terminal
 * echoes), stdin is copied to the connection until it ends (then half-closed, as the docker CLI
 * does), the output is copied out raw or demultiplexed, and window changes are sent as resizes.
 */
export async function interactiveSession(
  c: CliContext,
  api: ApiClient,
  path: string,
  request: { query?: Record<string, string | number>; json?: unknown },
  o: SessionOptions,
): Promise<InteractiveSession> {
  const keys = parseDetachKeys(o.detachKeys || DEFAULT_DETACH_KEYS);
  const { socket, head } = await api.hijack('POST', path, request);
  const stdin = process.stdin;
  const raw = o.tty && o.stdin && stdin.isTTY;
  if (raw) {
    stdin.setRawMode(true);
    // libuv's raw mode keeps output processing (ONLCR), which would turn the container's own
    // \r\n into \r\r\n; the docker CLI's raw mode turns it off too. setRawMode(false) restores it.
    // Loaded here: only a terminal session needs it (~2 ms of every other run's start).
    const { spawnSync } = await import('node:child_process');
    spawnSync('stty', ['-opost'], { stdio: [stdin, 'ignore', 'ignore'] });
  }
  let detached = false;
  const matcher = o.tty ? new DetachKeyMatcher(keys) : undefined;
  const onData = (chunk: Buffer) => {
    const { forward, detached: typed } = matcher ? matcher.feed(chunk) : { forward: chunk, detached: false };
    if (forward.length > 0 && !socket.write(forward)) {
      stdin.pause();
      socket.once('drain', () => stdin.resume());
    }
    if (typed) {
      detached = true;
      socket.destroy();
    }
  };
  const onEnd = () => socket.end();
  if (o.stdin) {
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  }
  // Window changes are listened for from now, but sent only once the caller says the container
  // (or exec) runs: a change between the two is covered by the size sent then.
  let tracking = false;
  let sent = '';
  // One resize at a time: two in flight go over two connections and may be applied in either
  // order, leaving the container's terminal at the older size. A change meanwhile is sent after.
  let sending = false;
  let changedMeanwhile = false;
  const sendSize = () => {
    if (!tracking || !o.resizePath) return;
    if (sending) {
      changedMeanwhile = true;
      return;
    }
    // Read the size now (an ioctl), not the one cached at the last SIGWINCH: signals do not queue,
    // so two quick changes (rows, then columns) can arrive as one, read between the two.
    const [columns, rows] = process.stdout.getWindowSize?.() ?? [process.stdout.columns, process.stdout.rows];
    if (!rows || !columns || `${rows}x${columns}` === sent) return;
    sent = `${rows}x${columns}`;
    sending = true;
    void api
      .request('POST', o.resizePath, { query: { h: rows, w: columns } })
      .then(
        (res) => res.resume(),
        () => undefined,
      )
      .finally(() => {
        sending = false;
        if (changedMeanwhile) {
          changedMeanwhile = false;
          sendSize();
        }
      });
  };
  /** A window change, and a second look shortly after for a change its signal was merged with. */
  const onResize = () => {
    sendSize();
    setTimeout(sendSize, RESIZE_SETTLE_MS).unref();
  };
  const sized = o.tty && process.stdout.isTTY;
  if (sized) process.stdout.on('resize', onResize);
  const copy = o.tty
    ? (async () => {
        for await (const chunk of hijackedBytes(socket, head)) c.out(chunk);
      })()
    : copyOutput(c, hijackedBytes(socket, head));
  const done = copy
    .catch((err: unknown) => {
      if (!detached) throw err;
    })
    .finally(() => {
      socket.destroy();
      process.stdout.off('resize', onResize);
      if (o.stdin) {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      }
      if (raw) stdin.setRawMode(false);
    });
  done.catch(() => undefined);
  return {
    done,
    get detached() {
      return detached;
    },
    trackSize: () => {
      tracking = true;
      if (sized) sendSize();
    },
    close: () => socket.destroy(),
  };
}
