/**
 * The launcher process (see launcher.ts): starts the commands its parent asks for over the IPC
 * channel and answers with how each ended. It holds nothing else, so it stays small, and a
 * small process forks fast. It exits when its parent goes away.
 */
import { spawnDirect, type RunOptions } from './run.js';

interface Request {
  id: number;
  command: string;
  args: string[];
  options: RunOptions;
}

process.on('message', (message: Request) => {
  void spawnDirect(message.command, message.args, message.options).then((outcome) => {
    // The parent may be gone by now; then there is no one to answer.
    if (process.connected) process.send?.({ id: message.id, outcome });
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
