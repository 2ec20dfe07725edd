/**
 * The launcher process (see launcher.ts): starts the commands its parent asks for over the IPC
 * channel and answers with how each ended. It holds nothing else, so it stays small, and a
 * small process forks fast. It exits when its parent goes away.
 */
import { spawnDetachedDirect, spawnDirect, type DetachOptions, type RunOptions } from './run.js';

type Request = { id: number; command: string; args: string[] } & (
  { kind: 'run'; options: RunOptions } | { kind: 'detach'; options: DetachOptions }
);

process.on('message', (message: Request) => {
  const started =
    message.kind === 'detach'
      ? spawnDetachedDirect(message.command, message.args, message.options)
      : spawnDirect(message.command, message.args, message.options);
  void started.then((outcome) => {
    // The parent may be gone by now; then there is no one to answer.
    if (process.connected) process.send?.({ id: message.id, outcome });
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
