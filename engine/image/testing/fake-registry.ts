import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { paxRecord } from '../store/pax-xattrs.js';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

/**
 * Test doubles on loopback for what a real registry will not do on demand: demand credentials
 * (Debian's registry needs a bcrypt htpasswd we cannot make here), serve tampered blobs, break
 * a download half-way. Also a counting proxy in front of a real registry.
 */
export interface TarFile {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  content?: string;
  linkpath?: string;
  mode?: number;
  /** Extended attributes, written as SCHILY.xattr pax records before the entry (as GNU tar --xattrs). */
  xattrs?: Record<string, Buffer>;
}

/** A tar built entry by entry, so tests can write archives no well-behaved tool would. */
export function tarOf(files: TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    if (f.xattrs) {
      const records = Buffer.concat(Object.entries(f.xattrs).map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, v)));
      const pax = Buffer.alloc(512);
      new Header({
        path: 'PaxHeader',
        mode: 0o644,
        size: records.length,
        type: 'ExtendedHeader',
        mtime: new Date(0),
      }).encode(pax);
      blocks.push(pax, records, Buffer.alloc((512 - (records.length % 512)) % 512));
    }
    const body = Buffer.from(f.content ?? '');
    const type = f.type ?? 'File';
    const header = new Header({
      path: f.path,
      mode: f.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      size: type === 'File' ? body.length : 0,
      type,
      linkpath: f.linkpath ?? '',
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block);
    blocks.push(block);
    if (type === 'File' && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface FakeImage {
  manifest: Buffer;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  blobs: Map<string, Buffer>;
}

export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A one-layer image whose layer holds `files` (gzip-compressed). */
export function makeFakeImage(files: TarFile[] = [{ path: 'hello.txt', content: 'hello\n' }]): FakeImage {
  const tar = tarOf(files);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.length },
      ],
    }),
  );
  const blobs = new Map([
    [digestOf(config), config],
    [digestOf(layer), layer],
  ]);
  return {
    manifest,
    manifestDigest: digestOf(manifest),
    configDigest: digestOf(config),
    layerDigest: digestOf(layer),
    blobs,
  };
}

export interface FakeRegistryOptions {
  repository: string;
  tag: string;
  image: FakeImage;
  auth?: { scheme: 'basic' | 'bearer'; username: string; password: string };
  /** Serve this blob with one byte changed. */
  tamper?: string;
  /** The first GET of this blob sends half its bytes, then drops the connection. */
  breakOnce?: string;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /** GETs of this blob send half its bytes, then the rest only once `release` resolves. */
  hold?: { digest: string; release: Promise<void> };
}

export interface FakeServer {
  url: string;
  host: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

const TOKEN = 'fake-token-1';

export async function startFakeRegistry(o: FakeRegistryOptions): Promise<FakeServer> {
  let broken = false;
  return serve(o.tls, (req, res, host) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/token') {
      if (req.headers.authorization !== basic(o.auth)) return void res.writeHead(401).end();
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
    }
    if (o.auth && !authorized(req, o.auth)) {
      const challenge =
        o.auth.scheme === 'basic'
          ? 'Basic realm="fake"'
          : `Bearer realm="http://${host}/token",service="fake",scope="repository:${o.repository}:pull"`;
      return void res
        .writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    if (path === '/v2/') return void res.writeHead(200).end('{}');
    const manifestPath = `/v2/${o.repository}/manifests/`;
    if (path === `${manifestPath}${o.tag}` || path === `${manifestPath}${o.image.manifestDigest}`) {
      return void res
        .writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': o.image.manifestDigest,
        })
        .end(o.image.manifest);
    }
    const blobMatch = new RegExp(`^/v2/${o.repository}/blobs/(sha256:[a-f0-9]{64})$`).exec(path);
    const blob = blobMatch?.[1] ? o.image.blobs.get(blobMatch[1]) : undefined;
    if (!blobMatch?.[1] || !blob)
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    let data = blob;
    if (o.tamper === blobMatch[1]) {
      data = Buffer.from(blob);
      data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0xff;
    }
    if (o.breakOnce === blobMatch[1] && !broken) {
      broken = true;
      res.writeHead(200, { 'content-length': String(data.length) });
      res.write(data.subarray(0, Math.floor(data.length / 2)), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (o.hold?.digest === blobMatch[1] && !req.headers.range) {
      const half = Math.floor(data.length / 2);
      res.writeHead(200, { 'content-length': String(data.length) });
      res.write(data.subarray(0, half));
      void o.hold.release.then(() => res.end(data.subarray(half)));
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      return void res
        .writeHead(206, {
          'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
          'content-length': String(data.length - start),
        })
        .end(data.subarray(start));
    }
    res.writeHead(200, { 'content-length': String(data.length) }).end(data);
  });
}

function basic(auth: FakeRegistryOptions['auth']): string {
  return auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : '';
}

function authorized(req: http.IncomingMessage, auth: NonNullable<FakeRegistryOptions['auth']>): boolean {
  return req.headers.authorization === (auth.scheme === 'basic' ? basic(auth) : `Bearer ${TOKEN}`);
}

/** Forwards every request to `upstream` (host:port) and records it. */
export function startCountingProxy(upstream: string): Promise<FakeServer> {
  return serve(undefined, (req, res) => {
    const forward = http.request(
      {
        host: upstream.split(':')[0],
        port: Number(upstream.split(':')[1]),
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
}

async function serve(
  tls: FakeRegistryOptions['tls'],
  handler: (req: http.IncomingMessage, res: http.ServerResponse, host: string) => void,
): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  let host = '';
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    handler(req, res, host);
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  host = `127.0.0.1:${address.port}`;
  return {
    url: `${tls ? 'https' : 'http'}://${host}`,
    host,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
