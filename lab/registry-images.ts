import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../lib/process/run.js';
import type { Lab } from './lab.js';
import type { ProcessRef } from './processes.js';
import {
  LAB_TEST_IMAGE_PATH,
  REGISTRY_PORT,
  TEST_IMAGE_LAYOUT_TAG,
  copyToRegistry,
  launchRegistry,
  registryConfig,
} from './registry.js';

/**
 * More of what the lab's registry host can serve, for the tests of images: the test image moved
 * to a new digest under the same tag (what a `docker push` of a rebuilt image does), and a second
 * registry that wants a login. Both use the registry host's own tools (umoci, skopeo,
 * docker-registry), so nothing is pulled from outside.
 */

const TOOL_TIMEOUT_MS = 60_000;

/**
 * Pushes the test image with `env` added to its config (a new config, so a new manifest digest;
 * the layers are the same) as `path` (e.g. `lab/busybox:1`) in the lab registry. Returns the
 * digest the tag now names.
 */
export async function pushTestImageVariant(lab: Lab, path: string, env: string): Promise<string> {
  const layout = join(lab.requireRegistry().dir, 'oci');
  const tag = `variant-${env.replace(/[^A-Za-z0-9_.-]/g, '-')}`;
  await run('umoci', ['config', '--image', `${layout}:${TEST_IMAGE_LAYOUT_TAG}`, '--tag', tag, '--config.env', env], {
    timeoutMs: TOOL_TIMEOUT_MS,
  });
  return copyToRegistry(lab.name, layout, tag, `127.0.0.1:${REGISTRY_PORT}/${path}`);
}

/** The second registry's port on the registry host, beside the lab registry's 5000. */
export const AUTH_REGISTRY_PORT = 5001;
export const AUTH_REGISTRY_USER = 'labuser';
export const AUTH_REGISTRY_PASSWORD = 'lab-secret-9';
/**
 * htpasswd line for AUTH_REGISTRY_USER: a bcrypt hash of AUTH_REGISTRY_PASSWORD (cost 5), made once
 * with crypt(3) (libxcrypt's $2b$); the registry accepts nothing but bcrypt, and Debian's
 * docker-registry package ships no htpasswd tool.
 */
const AUTH_REGISTRY_HTPASSWD = `${AUTH_REGISTRY_USER}:$2b$05$abcdefghijklmnopqrstuuB8ynkVE.iPveJxUA.naBQGYt0IYUiBe\n`;

export interface AuthRegistry extends ProcessRef {
  /** 192.168.77.5:5001: what daemons name it by (they need `--insecure-registry` for it). */
  host: string;
  /** The test image there, at the same path as in the lab registry. */
  image: string;
  username: string;
  password: string;
}

/**
 * Starts a registry that wants a login (Basic auth from an htpasswd file) on the registry host,
 * with storage of its own, and pushes the test image to it. It lives in the registry host's
 * cgroup, so `lab down` ends it.
 */
export async function startAuthRegistry(lab: Lab): Promise<AuthRegistry> {
  const reg = lab.requireRegistry();
  const dir = join(reg.dir, `auth-${AUTH_REGISTRY_PORT}`);
  await mkdir(join(dir, 'data'), { recursive: true });
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, AUTH_REGISTRY_HTPASSWD, { mode: 0o600 });
  const config = join(dir, 'config.yml');
  await writeFile(config, registryConfig(join(dir, 'data'), AUTH_REGISTRY_PORT, htpasswd));
  const host = `${reg.host.split(':')[0]}:${AUTH_REGISTRY_PORT}`;
  const started = await launchRegistry(lab.name, { config, logFile: join(dir, 'registry.log'), address: host });
  await copyToRegistry(
    lab.name,
    join(reg.dir, 'oci'),
    TEST_IMAGE_LAYOUT_TAG,
    `127.0.0.1:${AUTH_REGISTRY_PORT}/${LAB_TEST_IMAGE_PATH}`,
    `${AUTH_REGISTRY_USER}:${AUTH_REGISTRY_PASSWORD}`,
  );
  return {
    ...started,
    host,
    image: `${host}/${LAB_TEST_IMAGE_PATH}`,
    username: AUTH_REGISTRY_USER,
    password: AUTH_REGISTRY_PASSWORD,
  };
}
