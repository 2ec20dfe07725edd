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

  close(): void {
    this.client?.close();
  }
}
