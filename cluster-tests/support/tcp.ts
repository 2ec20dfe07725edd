import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from '../../lab/lab.js';

/** A TCP listener run on a lab host; the test ends it by its pid. */
export interface Listener {
  child: ChildProcess;
  stop(): void;
}

const LISTEN_SCRIPT = `
const net = require('node:net');
const [addr, port] = process.argv.slice(1);
net.createServer((s) => s.end('hello\\n')).listen(Number(port), addr, () => console.log('listening'));
`;

const CONNECT_SCRIPT = `
const net = require('node:net');
const [addr, port, timeoutMs] = process.argv.slice(1);
const s = net.connect({ host: addr, port: Number(port) });
const t = setTimeout(() => process.exit(1), Number(timeoutMs));
s.on('data', () => { clearTimeout(t); process.exit(0); });
s.on('error', () => process.exit(1));
`;

export async function listenOn(lab: Lab, host: string, addr: string, port: number): Promise<Listener> {
  const child = lab.spawn(
    host,
    [process.execPath, '-e', LISTEN_SCRIPT, addr, String(port)],
    ['ignore', 'pipe', 'inherit'],
  );
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`listener on ${host} did not start within 10 s`)), 10_000);
    lines.once('line', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`listener on ${host} exited with ${code}`)));
  });
  return { child, stop: () => child.kill('SIGKILL') };
}

/** True when `from` completes a TCP exchange with addr:port within the deadline. */
export async function canConnect(
  lab: Lab,
  from: string,
  addr: string,
  port: number,
  timeoutMs = 1_000,
): Promise<boolean> {
  const r = await lab.exec(from, [process.execPath, '-e', CONNECT_SCRIPT, addr, String(port), String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000,
  });
  return r.code === 0;
}
