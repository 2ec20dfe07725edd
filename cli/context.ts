import type { DaemonClient } from '../lib/daemon-client.js';
import { resolveHost } from '../lib/daemon-host.js';

/** What every command gets: where the daemon is, and where output goes. */
export class CliContext {
  private client: DaemonClient | undefined;

  constructor(
    private readonly hostFlag: string | undefined,
    /** Text, or a container's output as the bytes it wrote. */
    readonly out: (data: string | Uint8Array) => void = (t) => process.stdout.write(t),
  ) {}

  get host(): string {
    return resolveHost(this.hostFlag);
  }

  /**
   * Connects lazily: commands that never talk to the daemon (lab, --help) work without one. The
   * client's module (and the System and Control messages it loads) is imported here, on first
   * use, so the engine's commands and --version start without it.
   */
  async daemon(): Promise<DaemonClient> {
    if (!this.client) {
      const { DaemonClient } = await import('../lib/daemon-client.js');
      this.client ??= new DaemonClient(this.host);
    }
    return this.client;
  }

  close(): void {
    this.client?.close();
  }
}
