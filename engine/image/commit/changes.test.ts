import { describe, expect, it } from 'vitest';
import { applyChanges } from './changes.js';
import { committedConfig, imageManifest } from './commit-image.js';

describe('commit --change', () => {
  it('applies CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, WORKDIR, USER, VOLUME and STOPSIGNAL as a Dockerfile does', () => {
    const out = applyChanges({ Env: ['PATH=/bin', 'A=0'], WorkingDir: '/srv' }, [
      'CMD ["nginx", "-g", "daemon off;"]',
      'ENTRYPOINT /entry.sh --fast',
      'ENV A=1 B="two words"',
      'ENV C three',
      'EXPOSE 80 53/UDP',
      'LABEL a=b c="d e"',
      'WORKDIR app',
      'user nobody',
      'VOLUME ["/data"]',
      'STOPSIGNAL SIGQUIT',
    ]);
    expect(out).toMatchObject({
      Cmd: ['nginx', '-g', 'daemon off;'],
      Entrypoint: ['/bin/sh', '-c', '/entry.sh --fast'],
      Env: ['PATH=/bin', 'A=1', 'B=two words', 'C=three'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { a: 'b', c: 'd e' },
      WorkingDir: '/srv/app',
      User: 'nobody',
      Volumes: { '/data': {} },
      StopSignal: 'SIGQUIT',
    });
  });

  it('refuses an instruction commit does not take, naming the ones it does', () => {
    expect(() => applyChanges({}, ['COPY . /app'])).toThrow(
      /COPY is not an instruction commit takes \(CMD, ENTRYPOINT/,
    );
    expect(() => applyChanges({}, ['EXPOSE http'])).toThrow(/"http" is not a port/);
    expect(() => applyChanges({}, ['ENV'])).toThrow(/ENV needs an argument/);
  });
});

describe('the committed config and manifest', () => {
  const base = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
      history: [{ created_by: 'ADD rootfs' }],
      container_config: { Cmd: ['build'] },
    }),
  );

  it('keeps the base, takes the container command over it, appends the layer and a history entry', () => {
    const doc = JSON.parse(
      committedConfig({
        baseConfig: base,
        container: { entrypoint: ['/run.sh'], cmd: [], env: ['X=1'], workingDir: '/w', user: '' },
        overrides: { Labels: { from: 'body' } },
        changes: ['ENV Y=2'],
        diffId: `sha256:${'b'.repeat(64)}`,
        createdBy: '/run.sh',
        comment: 'why',
        author: 'me',
        created: new Date('2026-01-02T03:04:05Z'),
      }).toString('utf8'),
    ) as Record<string, unknown>;
    expect(doc).toMatchObject({
      architecture: 'amd64',
      created: '2026-01-02T03:04:05.000Z',
      author: 'me',
      config: {
        Entrypoint: ['/run.sh'],
        Cmd: null,
        Env: ['PATH=/bin', 'X=1', 'Y=2'],
        WorkingDir: '/w',
        Labels: { from: 'body' },
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`] },
      history: [{ created_by: 'ADD rootfs' }, { created_by: '/run.sh', comment: 'why', author: 'me' }],
    });
    expect(doc['container_config']).toBeUndefined();
  });

  it('lists layers under their OCI media types', () => {
    const m = JSON.parse(
      imageManifest({ digest: 'sha256:c', size: 3 }, [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: 'sha256:l', size: 9 },
      ]).toString('utf8'),
    ) as { layers: { mediaType: string }[]; config: { mediaType: string } };
    expect(m.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
  });
});
