import { run, type RunResult } from '../../lib/process/run.js';

/** ip and nft answer in milliseconds; a stuck one (a wedged netlink socket) must not hang attach. */
export const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Runs networking commands in the namespace that plays "the host" for this daemon: the root
 * namespace normally, a lab host's namespace in the lab, a test's own namespace in tests. Every
 * command of engine/network that touches the host side goes through here, so none can leak into
 * another namespace by accident.
 */
export class HostNs {
  constructor(readonly netnsName: string | undefined) {}

  /** `ip -n NS …` switches namespace inside ip itself; cheaper than nsenter. */
  ip(args: readonly string[], options: { allowFailure?: boolean; input?: string } = {}): Promise<RunResult> {
    const all = this.netnsName ? ['-n', this.netnsName, ...args] : [...args];
    return run('ip', all, { timeoutMs: COMMAND_TIMEOUT_MS, ...options });
  }

  /** Any other tool (nft, sysctl, cat of /proc/net): nsenter, which, unlike `ip netns exec`, leaves /sys alone. */
  exec(
    command: string,
    args: readonly string[],
    options: { allowFailure?: boolean; input?: string } = {},
  ): Promise<RunResult> {
    if (!this.netnsName) return run(command, args, { timeoutMs: COMMAND_TIMEOUT_MS, ...options });
    return run('nsenter', [`--net=/run/netns/${this.netnsName}`, command, ...args], {
      timeoutMs: COMMAND_TIMEOUT_MS,
      ...options,
    });
  }

  async sysctl(key: string, value: string): Promise<void> {
    await this.exec('sysctl', ['-qw', `${key}=${value}`]);
  }
}
