import { TswarmError } from '../../lib/errors.js';

/** The identity a container's process runs as, resolved against its rootfs. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The home directory from /etc/passwd, for HOME; "/" when unknown. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^\d+$/;

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#') || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) continue;
    entries.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#') || !NUMERIC.test(f[2]!)) continue;
    entries.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return entries;
}

function resolveGroup(spec: string, groups: GroupEntry[], user: string): number {
  if (NUMERIC.test(spec)) return Number(spec);
  const found = groups.find((g) => g.name === spec);
  if (!found) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `group "${spec}" of user "${user}" is not in the image's /etc/group. Use a numeric gid or a group the image defines`,
    );
  }
  return found.gid;
}

/**
 * Resolves Docker's user forms — "", "uid", "uid:gid", "name", "name:group" — against the
 * rootfs's /etc/passwd and /etc/group (contents passed in; missing files are empty strings).
 * As Docker: a numeric uid unknown to passwd runs with gid 0; a name must exist; supplementary
 * groups are the user's memberships in /etc/group plus `extraGroups`.
 */
export function resolveUser(
  userSpec: string,
  passwdText: string,
  groupText: string,
  extraGroups: readonly string[] = [],
): ProcessUser {
  const spec = userSpec === '' ? '0' : userSpec;
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let entry: PasswdEntry | undefined;
  if (NUMERIC.test(userPart)) {
    entry = passwd.find((p) => p.uid === Number(userPart));
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `user "${userPart}" is not in the image's /etc/passwd. Use a numeric uid or a user the image defines`,
      );
    }
  }
  const uid = entry ? entry.uid : Number(userPart);
  const gid = groupPart !== undefined && groupPart !== '' ? resolveGroup(groupPart, groups, spec) : (entry?.gid ?? 0);
  const memberOf = entry ? groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid) : [];
  const extra = extraGroups.map((g) => resolveGroup(g, groups, spec));
  const additionalGids = [...new Set([...memberOf, ...extra])].filter((g) => g !== gid);
  return { uid, gid, additionalGids, home: entry?.home ?? '/' };
}
