import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import type { ImageForRuntime } from '../image-contract.js';
import { ContainerConfig, type DeepPartial } from '../../gen/tswarm/v1/engine.js';
import { ContainerSpec, MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import { buildOciSpec, type ResolvedMount } from './oci-spec.js';
import { defaultHosts, withDnsOverrides } from './etc-files.js';
import { containerResolvConf } from '../netns/resolv-conf.js';
import { copyImageContentIntoVolumes } from './volume-copy-up.js';
import { mountRootfs, unmountTree } from './rootfs.js';
import { isMounted } from '../netns/mount-table.js';
import { deleteNetns } from '../netns/netns.js';
import { initialState, REMOVED_DIR_PREFIX, RUNTIME_MADE_NETNS, saveRecord, type ContainerRecord } from './record.js';
import { DEFAULT_STOP_GRACE_MS } from './defaults.js';
import { SECCOMP_BPF_ANNOTATION, type SeccompBpfCache } from './seccomp-cache.js';
import type { SeccompProfile } from './seccomp.js';

/** What `ContainerRuntime.create` takes: the container's config plus what other parts prepared. */
export interface CreateInput {
  config: DeepPartial<ContainerConfig>;
  image: ImageForRuntime;
  /**
   * The network namespace to join, made by the network part of the engine. Without one, network
   * mode "host" shares the host's and every other mode gets a fresh namespace with loopback only.
   */
  netnsPath?: string;
  /** The container's address, for its /etc/hosts entry. */
  ip?: string;
  /** Full contents for /etc/hosts and /etc/resolv.conf; generated when absent. */
  hostsContent?: string;
  resolvConfContent?: string;
  /** Host directories of named volumes, by volume name (a volume mount's source). */
  volumePaths?: Record<string, string>;
}

/** The paths and names one container owns; all derived from the engine root, prefix and ID. */
export interface ContainerPaths {
  dir: string;
  bundle: string;
  rootfs: string;
  upper: string;
  work: string;
  log: string;
}

export function containerPaths(containersDir: string, id: string): ContainerPaths {
  const dir = join(containersDir, id);
  return {
    dir,
    bundle: join(dir, 'bundle'),
    rootfs: join(dir, 'rootfs'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    log: join(dir, 'ctr.log'),
  };
}

export interface CreateContext {
  containersDir: string;
  namePrefix: string;
  catatonitPath: string | undefined;
  nowMs: number;
  log: Logger;
  /**
   * The node's compiled seccomp filters (crun only). A hit goes into the bundle as crun's
   * annotation; a miss is reported so the program crun compiles can be kept.
   */
  seccomp?: { cache: SeccompBpfCache; onMiss: (profile: SeccompProfile) => void };
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid container name "${name}". Use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

async function resolveMount(m: Mount, volumePaths: Record<string, string>): Promise<ResolvedMount> {
  if (!isAbsolute(m.target))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `mount target "${m.target}" is not an absolute path. Give a path such as /data`,
    );
  if (m.type === MountType.MOUNT_TYPE_TMPFS) {
    return {
      type: 'tmpfs',
      source: '',
      target: m.target,
      readOnly: m.readOnly,
      tmpfsSizeBytes: m.tmpfsSizeBytes,
      tmpfsMode: m.tmpfsMode,
    };
  }
  if (m.type === MountType.MOUNT_TYPE_VOLUME) {
    const path = volumePaths[m.source];
    if (!path)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `volume "${m.source}" for ${m.target} was not prepared. Create the volume first`,
      );
    return { type: 'bind', source: path, target: m.target, readOnly: m.readOnly };
  }
  if (!isAbsolute(m.source))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `bind mount source "${m.source}" is not an absolute path. Give a host path such as /srv/data`,
    );
  try {
    await stat(m.source);
  } catch {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `bind mount source path does not exist: ${m.source}. Create it on the host first`,
    );
  }
  return { type: 'bind', source: m.source, target: m.target, readOnly: m.readOnly };
}

/** /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, in its directory (bind-mounted in). */
export async function writeEtcFiles(
  paths: ContainerPaths,
  input: Pick<CreateInput, 'ip' | 'hostsContent' | 'resolvConfContent'>,
  spec: ContainerSpec,
  hostname: string,
  hostNetwork: boolean,
) {
  const files = {
    hosts: join(paths.dir, 'hosts'),
    hostname: join(paths.dir, 'hostname'),
    resolvConf: join(paths.dir, 'resolv.conf'),
  };
  const hosts = input.hostsContent ?? defaultHosts({ hostname, ip: input.ip, extraHosts: spec.hosts });
  const hostResolvConf = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  // On the host's network a loopback resolver (systemd-resolved, dnsmasq) is reachable: keep it.
  const base = input.resolvConfContent ?? (hostNetwork ? hostResolvConf : containerResolvConf(hostResolvConf));
  const resolv = withDnsOverrides(base, {
    nameservers: spec.dnsNameservers,
    search: spec.dnsSearch,
    options: spec.dnsOptions,
  });
  await Promise.all([
    writeFile(files.hosts, hosts),
    writeFile(files.hostname, `${hostname}\n`),
    writeFile(files.resolvConf, resolv),
  ]);
  return files;
}

/**
 * Makes everything a container needs on disk — rootfs mount, etc files, network namespace, OCI
 * bundle — and saves its record last: a crash before that leaves a directory without a record,
 * which the next open() removes. On an error here the partial work is undone at once.
 */
export async function prepareContainer(ctx: CreateContext, id: string, input: CreateInput): Promise<ContainerRecord> {
  const config = ContainerConfig.fromPartial(input.config);
  const spec = config.spec ?? ContainerSpec.fromPartial({});
  config.spec = spec;
  if (spec.init && !ctx.catatonitPath)
    throw new TswarmError(
      'UNSUPPORTED_HOST',
      'init: true needs catatonit, which is not installed. Install it (apt-get install catatonit)',
    );
  const volumePaths = input.volumePaths ?? {};
  const mounts: ResolvedMount[] = [];
  for (const m of spec.mounts) mounts.push(await resolveMount(m, volumePaths));
  const paths = containerPaths(ctx.containersDir, id);
  // Without a namespace from the network part (`none`), the OCI runtime makes one at each start.
  const netnsPath = config.networkMode === 'host' ? null : (input.netnsPath ?? RUNTIME_MADE_NETNS);
  await mkdir(paths.bundle, { recursive: true });
  try {
    await mountRootfs(input.image.layerDirs, { upper: paths.upper, work: paths.work, target: paths.rootfs });
    // volume-nocopy: the volume starts empty even where the image has files.
    const volumeMounts = spec.mounts
      .filter((m) => m.type === MountType.MOUNT_TYPE_VOLUME && !m.volumeNoCopy && volumePaths[m.source])
      .map((m) => ({ target: m.target, hostPath: volumePaths[m.source]! }));
    await copyImageContentIntoVolumes(paths.rootfs, volumeMounts, ctx.log);
    const [passwd, group] = await Promise.all(
      ['passwd', 'group'].map((f) => readFile(join(paths.rootfs, 'etc', f), 'utf8').catch(() => '')),
    );
    // On the host's network a container is the host, by name too (Docker does the same).
    const hostname = spec.hostname || (config.networkMode === 'host' ? osHostname() : id.slice(0, 12));
    const etcFiles = await writeEtcFiles(paths, input, spec, hostname, config.networkMode === 'host');
    const cgroupsPath = `/${ctx.namePrefix}/${id}`;
    const built = buildOciSpec({
      rootfsPath: paths.rootfs,
      image: input.image.config,
      spec,
      limits: config.resources?.limits,
      reservations: config.resources?.reservations,
      passwd: passwd ?? '',
      group: group ?? '',
      hostname,
      cgroupsPath,
      netnsPath,
      etcFiles,
      mounts,
      initHostPath: ctx.catatonitPath,
    });
    if (ctx.seccomp) {
      const compiled = ctx.seccomp.cache.lookup(built.oci.linux.seccomp);
      if (compiled) built.oci.annotations = { ...built.oci.annotations, [SECCOMP_BPF_ANNOTATION]: compiled };
      else ctx.seccomp.onMiss(built.oci.linux.seccomp);
    }
    await writeFile(join(paths.bundle, 'config.json'), JSON.stringify(built.oci, null, 1));
    const record: ContainerRecord = {
      id,
      name: config.name,
      runtimeName: `${ctx.namePrefix}-${id}`,
      createdAtMs: ctx.nowMs,
      config,
      image: { id: input.image.id, reference: input.image.reference, layerDirs: input.image.layerDirs },
      argv: built.argv,
      stopSignal: built.stopSignal,
      stopGracePeriodMs: spec.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
      health: built.health,
      cgroupsPath,
      netnsPath,
      netnsName: undefined,
      state: { ...initialState(), health: built.health ? 'starting' : '' },
    };
    await saveRecord(paths.dir, record);
    return record;
  } catch (err) {
    await discardContainerFiles(paths, undefined, ctx.log);
    throw err;
  }
}

/**
 * Unmounts and deletes a container's directory (and its own netns); refuses to delete through a
 * mount. The directory is renamed aside at once and deleted in the background: deleting even a
 * fresh container's ~20 entries takes ~10 ms of async calls, which a removal (and `run --rm`'s
 * wait for it) need not wait for. What a crash leaves is deleted at the next start (adopt.ts).
 */
export async function discardContainerFiles(
  paths: ContainerPaths,
  netnsName: string | undefined,
  log: Logger,
): Promise<void> {
  await unmountTree(paths.rootfs);
  if (netnsName) await deleteNetns(netnsName);
  if (await isMounted(paths.rootfs)) {
    throw new TswarmError(
      'INTERNAL',
      `${paths.rootfs} is still mounted; not deleting ${paths.dir}. Unmount it by hand`,
    );
  }
  const removed = join(dirname(paths.dir), `${REMOVED_DIR_PREFIX}${basename(paths.dir)}`);
  try {
    await rename(paths.dir, removed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  void deleteRemovedDir(removed, log);
}

/** Deletes a removed container's directory; a failure is logged, and the next start tries again. */
export async function deleteRemovedDir(dir: string, log: Logger): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
    log.warn({ err, dir }, 'deleting a removed container’s directory failed; the next daemon start tries again'),
  );
}

/**
 * Rewrites a stopped container's /etc/hosts and /etc/resolv.conf for a new network attachment
 * (its address can change between runs, as in Docker), keeping the hostname it has.
 */
export async function refreshEtcFiles(
  containersDir: string,
  record: ContainerRecord,
  network: { ip: string | undefined; resolvConfContent: string | undefined },
): Promise<void> {
  const spec = record.config.spec ?? ContainerSpec.fromPartial({});
  const paths = containerPaths(containersDir, record.id);
  const hostname =
    (await readFile(join(paths.dir, 'hostname'), 'utf8').catch(() => '')).trim() ||
    spec.hostname ||
    record.id.slice(0, 12);
  await writeEtcFiles(
    paths,
    { ip: network.ip, resolvConfContent: network.resolvConfContent || undefined },
    spec,
    hostname,
    record.config.networkMode === 'host',
  );
}
