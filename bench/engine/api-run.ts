import { ApiClient } from '../../lib/api-client/client.js';
import { readJsonLines } from '../../lib/api-client/json-lines.js';

/**
 * `run --rm IMAGE true` as the Engine API calls alone, from a client already running (this
 * process, its connection kept alive): create, wait for `removed` (its headers first, as the docker
 * CLI does before the start), start, then the wait's answer. Its time is the daemon's own part of
 * a run, without any CLI's start or module loading.
 */
export class ApiRun {
  private readonly api: ApiClient;

  constructor(host: string) {
    this.api = new ApiClient(host);
  }

  async runOnce(image: string): Promise<void> {
    const { Id: id } = await this.api.json<{ Id: string }>('POST', '/containers/create', {
      json: { Image: image, Cmd: ['true'], HostConfig: { AutoRemove: true, NetworkMode: 'none' } },
    });
    const wait = await this.api.request('POST', `/containers/${id}/wait`, { query: { condition: 'removed' } });
    try {
      await this.api.json('POST', `/containers/${id}/start`);
      for await (const answer of readJsonLines<{ StatusCode: number }>(wait)) {
        if (answer.StatusCode !== 0) throw new Error(`container ${id} exited ${answer.StatusCode}`);
        return;
      }
      throw new Error(`the wait for container ${id} ended without an answer`);
    } finally {
      wait.destroy();
    }
  }

  close(): void {
    this.api.close();
  }
}
