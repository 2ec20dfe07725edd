import { TswarmError } from './errors.js';

/**
 * Linux names a container spec carries — capabilities and signals — as Docker reads them. The
 * engine applies them and the manager's service checks refuse unknown ones before anything is
 * stored, from this one list, so a spec the manager accepts is one every node can run.
 */

/** Every capability the kernel here (6.x) and crun 1.8 know, for `ALL`. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Docker's normalization: upper case, `CAP_` added when missing; `ALL` stays `ALL`. */
export function capabilityName(raw: string): string {
  const upper = raw.trim().toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** Refuses a name that is neither a known capability nor `ALL`: an unknown one is a typo, never ignored. */
export function checkCapability(raw: string): string {
  const cap = capabilityName(raw);
  if (cap !== 'ALL' && !ALL_CAPABILITIES.includes(cap))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `unknown capability "${raw}". Use a name such as NET_ADMIN or CAP_NET_ADMIN`,
    );
  return cap;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** "TERM", "SIGTERM", "15" → "SIGTERM"; anything else is INVALID_ARGUMENT. */
export function normalizeSignal(raw: string): string {
  const upper = raw.trim().toUpperCase();
  if (/^\d+$/.test(upper)) {
    const name = Object.entries(SIGNALS).find(([, n]) => n === Number(upper))?.[0];
    if (name) return name;
  } else {
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (name in SIGNALS) return name;
  }
  throw new TswarmError('INVALID_ARGUMENT', `unknown signal "${raw}". Use a name such as TERM or SIGINT, or a number`);
}
