import { mkdtemp, rm, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isRetryableImageError } from '../errors.js';
import { run } from '../../../lib/process/run.js';
import { readFile, writeFile } from 'node:fs/promises';
import { ImageService } from '../images.js';
import {
  makeFakeImage,
  startFakeRegistry,
  type FakeRegistryOptions,
  type FakeServer,
} from '../testing/fake-registry.js';

/** Behaviour a real registry will not show on demand, against a small fake registry on loopback. */
describe('pull against a fake registry', () => {
  const dirs: string[] = [];
  const servers: FakeServer[] = [];
  const services: ImageService[] = [];
  const image = makeFakeImage();

  const setup = async (
    options: Partial<FakeRegistryOptions> = {},
    service: { insecure?: boolean; caBundlePath?: string } = {},
  ) => {
    const server = await startFakeRegistry({ repository: 'test/fake', tag: '1', image, ...options });
    servers.push(server);
    const root = await mkdtemp(join(tmpdir(), 'tswarm-pull-'));
    dirs.push(root);
    const s = new ImageService({
      root,
      credentialsPath: join(root, 'credentials.json'),
      insecureRegistries: service.insecure === false ? [] : [server.host],
      ...(service.caBundlePath ? { caBundlePath: service.caBundlePath } : {}),
      registry: { attemptsMax: 3, backoffBaseMs: 5 },
    });
    services.push(s);
    return { server, s, root, ref: `${server.host}/test/fake:1` };
  };

  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('refuses a blob whose content does not match its digest, and discards it', async () => {
    const { s, root, ref } = await setup({ tamper: image.layerDigest });
    const err = await s.pull(ref).catch((e: unknown) => e);
    expect(String(err)).toMatch(
      new RegExp(`cannot pull ${ref.replace(/[.]/g, '\\.')}: content of ${image.layerDigest} does not match`),
    );
    expect(isRetryableImageError(err)).toBe(false);
    expect(await readdir(join(root, 'ingest'))).toEqual([]);
    expect(await s.list()).toEqual([]);
  });

  it('downloads a layer once when two pulls want it at the same time, and both succeed', async () => {
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { s, server, ref } = await setup({ hold: { digest: image.layerDigest, release: released } });
    // Whichever pull gets to the layer first holds half of it; the other must wait for it rather
    // than write the same partial file. Each pull opens with one 'waiting' per queued layer: the
    // third 'waiting' for the layer is the wait for the other pull's download.
    let waiting = false;
    let layerWaits = 0;
    const onProgress = (p: { digest: string; status: string }) => {
      if (p.status !== 'waiting' || p.digest !== image.layerDigest || ++layerWaits !== 3) return;
      waiting = true;
      release();
    };
    const first = s.pull(ref, { onProgress });
    const second = s.pull(ref, { onProgress });
    const [a, b] = await Promise.all([first, second]);
    expect(waiting).toBe(true);
    expect(a.id).toBe(image.configDigest);
    expect(b.id).toBe(image.configDigest);
    expect(server.requests.filter((r) => r.path.endsWith(image.layerDigest))).toHaveLength(1);
  });

  describe('over HTTPS', () => {
    /** A self-signed certificate for 127.0.0.1, made with openssl (Debian's), in its own directory. */
    const selfSigned = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tswarm-tls-'));
      dirs.push(dir);
      await run(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { timeoutMs: 20_000 },
      );
      return {
        cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
        key: await readFile(join(dir, 'key.pem'), 'utf8'),
        certPath: join(dir, 'cert.pem'),
        dir,
      };
    };

    it('an untrusted certificate is a permanent error that names the flags to fix it, tried once', async () => {
      const tls = await selfSigned();
      const { s, server, ref } = await setup({ tls }, { insecure: false });
      const err = await s.pull(ref).catch((e: unknown) => e);
      expect(String(err)).toMatch(
        /the TLS handshake with registry 127\.0\.0\.1:\d+ failed \(DEPTH_ZERO_SELF_SIGNED_CERT\).*--registry-ca FILE.*--insecure-registry 127\.0\.0\.1:\d+/,
      );
      expect(isRetryableImageError(err)).toBe(false);
      expect(server.requests).toHaveLength(0); // the handshake failed before any request, and was not retried
    });

    it('pulls once the CA is given with --registry-ca; a bundle without a certificate is named', async () => {
      const tls = await selfSigned();
      const { s, ref } = await setup({ tls }, { insecure: false, caBundlePath: tls.certPath });
      expect((await s.pull(ref)).id).toBe(image.configDigest);
      const notPem = join(tls.dir, 'not-pem.txt');
      await writeFile(notPem, 'hello\n');
      const bad = await setup({ tls }, { insecure: false, caBundlePath: notPem });
      await expect(bad.s.pull(bad.ref)).rejects.toThrow(/registry CA bundle .*not-pem\.txt holds no PEM certificate/);
      const missing = await setup({ tls }, { insecure: false, caBundlePath: join(tls.dir, 'absent.pem') });
      await expect(missing.s.pull(missing.ref)).rejects.toThrow(
        /cannot read the registry CA bundle .*absent\.pem \(ENOENT\)/,
      );
    });
  });

  it('resumes a broken download with a Range request', async () => {
    const { s, server, ref } = await setup({ breakOnce: image.layerDigest });
    const pulled = await s.pull(ref);
    expect(pulled.id).toBe(image.configDigest);
    const layerGets = server.requests.filter((r) => r.path.endsWith(image.layerDigest));
    expect(layerGets).toHaveLength(2);
    expect(layerGets[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(layerGets[1]?.headers.range).not.toBe('bytes=0-');
  });

  it('asks for credentials, then uses stored Basic credentials after login', async () => {
    const { s, ref, root } = await setup({ auth: { scheme: 'basic', username: 'alice', password: 's3cret' } });
    const anonymous = await s.pull(ref).catch((e: unknown) => e);
    expect(String(anonymous)).toMatch(/requires authentication.*tswarm login/);
    expect(isRetryableImageError(anonymous)).toBe(false);
    const host = ref.split('/')[0] ?? '';
    await expect(s.login(host, 'alice', 'wrong')).rejects.toThrow(/refused the credentials/);
    await expect(stat(join(root, 'credentials.json'))).rejects.toThrow();
    expect(await s.login(host, 'alice', 's3cret')).toEqual({ status: 'Login Succeeded' });
    expect((await stat(join(root, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect((await s.pull(ref)).id).toBe(image.configDigest);
    expect(await s.logout(host)).toBe(true);
  });

  it('gets a bearer token from the token endpoint, and reports refused credentials permanently', async () => {
    const { s, ref, server } = await setup({ auth: { scheme: 'bearer', username: 'bob', password: 'pw' } });
    const host = ref.split('/')[0] ?? '';
    await s.login(host, 'bob', 'pw');
    expect((await s.pull(ref)).id).toBe(image.configDigest);
    expect(server.requests.filter((r) => r.path.startsWith('/token')).length).toBeGreaterThan(0);
    await s.logout(host);
    const other = await setup({ auth: { scheme: 'bearer', username: 'bob', password: 'pw' } });
    const otherHost = other.ref.split('/')[0] ?? '';
    // Stored credentials that the registry no longer accepts: a permanent, clear error.
    await (other.s as unknown as { credentials: { set(r: string, c: object): Promise<void> } }).credentials.set(
      otherHost,
      { username: 'bob', password: 'old' },
    );
    const err = await other.s.pull(other.ref).catch((e: unknown) => e);
    expect(String(err)).toMatch(/refused the credentials \(HTTP 401\)/);
    expect(isRetryableImageError(err)).toBe(false);
  });

  it("pulls with a caller's own credentials (X-Registry-Auth), whose token never serves an anonymous pull", async () => {
    const { s, ref, server, root } = await setup({ auth: { scheme: 'bearer', username: 'bob', password: 'pw' } });
    const wrong = await s.pull(ref, { credentials: { username: 'bob', password: 'nope' } }).catch((e: unknown) => e);
    expect(String(wrong)).toMatch(/refused the credentials \(HTTP 401\)/);
    expect((await s.pull(ref, { credentials: { username: 'bob', password: 'pw' } })).id).toBe(image.configDigest);
    // Nothing was stored: the credentials were this pull's only.
    await expect(stat(join(root, 'credentials.json'))).rejects.toThrow();
    const tokensBefore = server.requests.filter((r) => r.path.startsWith('/token')).length;
    // The token bob's pull got is cached for bob; an anonymous pull asks for its own and is refused.
    const anonymous = await s.pull(ref).catch((e: unknown) => e);
    expect(String(anonymous)).toMatch(/requires authentication/);
    expect(server.requests.filter((r) => r.path.startsWith('/token')).length).toBeGreaterThan(tokensBefore);
  });

  it('reports a missing blob as a permanent not-found error', async () => {
    const broken = { ...image, blobs: new Map([...image.blobs].filter(([d]) => d !== image.layerDigest)) };
    const { s, ref } = await setup({ image: broken });
    const err = await s.pull(ref).catch((e: unknown) => e);
    expect(String(err)).toMatch(/not found.*BLOB_UNKNOWN/);
    expect(isRetryableImageError(err)).toBe(false);
  });
});
