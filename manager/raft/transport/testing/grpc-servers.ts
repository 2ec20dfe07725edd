/** Test helpers: gRPC servers on 127.0.0.1 with a free port chosen by the kernel. */
import { Server, ServerCredentials } from '@grpc/grpc-js';

export async function listenLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}

/**
 * Ports handed out below the kernel's ephemeral range (32768 and up by default), so the source
 * port of some other test's outgoing connection can never take one between "free" and "bound";
 * each vitest worker has a block of its own, so parallel test files never pick the same one.
 */
const PORT_BLOCK_BASE = 20_000;
const PORT_BLOCK_SIZE = 1_000;
const PORT_BLOCKS = 12;
let nextOffset = 0;

/** A port in this worker's block that has nothing listening on it now. */
export async function unusedPort(): Promise<number> {
  const worker = Number(process.env['VITEST_POOL_ID'] ?? process.env['VITEST_WORKER_ID'] ?? 0) % PORT_BLOCKS;
  for (let attempt = 0; attempt < PORT_BLOCK_SIZE; attempt++) {
    const port = PORT_BLOCK_BASE + worker * PORT_BLOCK_SIZE + (nextOffset++ % PORT_BLOCK_SIZE);
    const server = new Server();
    try {
      await listenLoopback(server, port);
      return port;
    } catch {
      // Taken by something outside the tests: try the next one.
    } finally {
      server.forceShutdown();
    }
  }
  throw new Error(`no free port in 127.0.0.1:${PORT_BLOCK_BASE + worker * PORT_BLOCK_SIZE}+${PORT_BLOCK_SIZE}`);
}

export function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.tryShutdown(() => resolve());
    // Bounded: streams still open after this long are cut.
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 1000).unref();
  });
}
