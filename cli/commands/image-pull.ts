import type { ApiClient } from '../../lib/api-client/client.js';
import { PullProgress, type ProgressMessage } from './engine-progress.js';

/** A pull's first answer may wait on a slow registry (its token, its manifest); then it streams. */
const PULL_START_DEADLINE_MS = 5 * 60_000;

/**
 * Pulls through `POST /images/create`, as `docker pull` does, with the progress on `write`
 * (redrawn lines when `tty`) and Docker's closing lines (`Digest: …`, `Status: …`).
 */
export async function pullImage(
  api: ApiClient,
  reference: string,
  write: (text: string) => void,
  tty: boolean,
): Promise<void> {
  const progress = new PullProgress(write, tty);
  for await (const m of api.jsonStream<ProgressMessage>('POST', '/images/create', {
    // The whole reference in fromImage (its tag or digest included), which the daemon parses.
    query: { fromImage: reference },
    timeoutMs: PULL_START_DEADLINE_MS,
  }))
    progress.update(m);
  progress.finish();
}
