import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { TswarmError } from '../../lib/errors.js';

/**
 * conmon's attach socket is SOCK_SEQPACKET, which Node cannot open, so a small Perl program (perl
 * is on every Debian/Ubuntu host: perl-base) connects to it and copies its stdin there, a packet
 * at a time: conmon writes each packet to the container's stdin (the terminal's master for a
 * TTY). What conmon sends back is read and dropped: attach's output comes from the log, as for
 * every other reader. It ends at the end of its stdin or when conmon closes the socket (the
 * container exited); conmon then closes the container's stdin unless it keeps it open.
 */
const RELAY = `
use strict; use Socket;
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\\n";
connect($s, pack_sockaddr_un($ARGV[0])) or die "cannot connect to the container's attach socket: $!\\n";
binmode STDIN; $| = 1; print "ok\\n";
my $rin = ''; vec($rin, fileno(STDIN), 1) = 1; vec($rin, fileno($s), 1) = 1;
while (1) {
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0;
  if (vec($rout, fileno($s), 1)) { my $buf; my $r = recv($s, $buf, 65536, 0); last if !defined $r || length($buf) == 0; }
  if (vec($rout, fileno(STDIN), 1)) { my $got = sysread(STDIN, my $buf, 4096); last if !$got; defined(send($s, $buf, 0)) or last; }
}
`;

/** How long connecting to the attach socket may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A writer into a container's stdin through conmon; `closed` settles when the relay ends. */
export interface StdinAttachment {
  readonly input: Writable;
  readonly closed: Promise<void>;
}

/** Connects to conmon's attach socket at `socketPath`; fails when the container has no stdin or conmon is gone. */
export async function attachStdin(socketPath: string): Promise<StdinAttachment> {
  const child = spawn('perl', ['-e', RELAY, socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-1000)));
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const connected = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    child.stdout.once('data', () => (clearTimeout(timer), resolve(true)));
    void closed.then(() => (clearTimeout(timer), resolve(false)));
  });
  child.stdout.resume();
  if (!connected) {
    child.kill('SIGKILL');
    throw new TswarmError('UNAVAILABLE', `cannot attach to the container's stdin: ${stderr.trim() || 'no answer'}`);
  }
  return { input: child.stdin, closed };
}

/**
 * Sets a TTY container's terminal size through conmon's control fifo ("1 rows cols": a resize);
 * conmon applies it to the terminal, which signals the container. A conmon that is gone is ignored.
 */
export async function resizeConmonTerminal(ctlFifo: string, rows: number, cols: number): Promise<void> {
  let handle;
  try {
    handle = await open(ctlFifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    await handle.write(`1 ${rows} ${cols}\n`);
  } finally {
    await handle.close();
  }
}
