/** Test helpers: gRPC servers on 127.0.0.1 with a free port chosen by the kernel. */
import { Server, ServerCredentials } from '@grpc/grpc-js';

export async function listenLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** A port that was free a moment ago and has nothing listening on it now. */
export async function unusedPort(): Promise<number> {
  const server = new Server();
  const port = await listenLoopback(server);
  server.forceShutdown();
  return port;
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
