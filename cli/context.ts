import { DaemonClient, resolveHost } from '../lib/daemon-client.js';

/** What every command gets: where the daemon is, and where output goes. */
export class CliContext {
  private client: DaemonClient | undefined;

  constructor(
    private readonly hostFlag: string | undefined,
    readonly out: (text: string) => void = (t) => process.stdout.write(t),
  ) {}

  get host(): string {
    return resolveHost(this.hostFlag);
  }

  /** Connects lazily: commands that never talk to the daemon (lab, --help) work without one. */
  daemon(): DaemonClient {
    this.client ??= new DaemonClient(this.host);
    return this.client;
  }

  close(): void {
    this.client?.close();
  }
}
