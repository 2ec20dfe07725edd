import { ApiClient } from '../lib/api-client/client.js';
import { resolveHost } from '../lib/daemon-host.js';

/** What every command gets: where the daemon is, and where output goes. */
export class CliContext {
  private client: ApiClient | undefined;

  constructor(
    private readonly hostFlag: string | undefined,
    /** Text, or a container's output as the bytes it wrote. */
    readonly out: (data: string | Uint8Array) => void = (t) => process.stdout.write(t),
  ) {}

  get host(): string {
    return resolveHost(this.hostFlag);
  }

  /**
   * The daemon's Engine API, connected lazily: commands that never talk to the daemon (lab,
   * --help) work without one. One client (one kept-alive connection) for the whole command.
   */
  api(): ApiClient {
    this.client ??= new ApiClient(this.host);
    return this.client;
  }

  /** @deprecated the gRPC client, until every command speaks the Engine API. */
  async daemon(): Promise<import('../lib/daemon-client.js').DaemonClient> {
    const { DaemonClient } = await import('../lib/daemon-client.js');
    this.grpc ??= new DaemonClient(this.host);
    return this.grpc;
  }
  private grpc: import('../lib/daemon-client.js').DaemonClient | undefined;

  close(): void {
    this.client?.close();
    this.grpc?.close();
  }
}
