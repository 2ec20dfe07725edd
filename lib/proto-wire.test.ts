import { describe, expect, it } from 'vitest';
import * as full from '../gen/tswarm/v1/objects.js';
import * as fullEngine from '../gen/tswarm/v1/engine.js';
import * as lite from '../gen/lite/tswarm/v1/objects.js';
import * as liteEngine from '../gen/lite/tswarm/v1/engine.js';

// The CLI's message tree (gen/lite: lib/proto-wire.ts for the wire, the full tree's enum types)
// must put the same bytes on the wire as the daemon's tree, and read them back the same.
describe('gen/lite against gen/', () => {
  const node: full.Node = full.Node.fromPartial({
    id: 'n1',
    role: full.NodeRole.NODE_ROLE_MANAGER,
    spec: {
      desiredRole: full.NodeRole.NODE_ROLE_MANAGER,
      availability: full.NodeAvailability.NODE_AVAILABILITY_DRAIN,
      annotations: { name: 'm1', labels: { zone: 'a' } },
    },
    managerStatus: { leader: true, reachability: full.Reachability.REACHABILITY_REACHABLE, addr: '192.168.77.11:2377' },
    meta: { version: 42, createdAtMs: 1_700_000_000_000, updatedAtMs: 1_700_000_000_001 },
  });

  it('encodes and decodes a nested message with enums and maps the same both ways', () => {
    const fromFull = full.Node.encode(node).finish();
    expect(Buffer.from(lite.Node.encode(node).finish())).toEqual(Buffer.from(fromFull));
    const back: lite.Node = lite.Node.decode(fromFull);
    expect(back).toEqual(full.Node.decode(fromFull));
    expect(full.Node.decode(lite.Node.encode(back).finish())).toEqual(node);
  });

  it('carries bytes and repeated fields of the engine’s messages', () => {
    const config = liteEngine.ContainerConfig.fromPartial({
      name: 'c',
      spec: {
        image: 'busybox',
        args: ['sh', '-c', 'true'],
        mounts: [{ type: lite.MountType.MOUNT_TYPE_TMPFS, target: '/run', tmpfsSizeBytes: 64 << 20 }],
      },
      ports: [
        { protocol: lite.PortProtocol.PORT_PROTOCOL_UDP, containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' },
      ],
    });
    const decoded = fullEngine.ContainerConfig.decode(liteEngine.ContainerConfig.encode(config).finish());
    expect(decoded).toEqual(fullEngine.ContainerConfig.fromPartial(config));
    const chunk = Buffer.from([0, 1, 2, 255]);
    expect(
      Buffer.from(liteEngine.ImageLoadRequest.decode(fullEngine.ImageLoadRequest.encode({ chunk }).finish()).chunk),
    ).toEqual(chunk);
  });

  it('has the same enum values, typed as the full tree’s enums', () => {
    const role: full.NodeRole = lite.NodeRole.NODE_ROLE_WORKER;
    expect(role).toBe(full.NodeRole.NODE_ROLE_WORKER);
    expect({ ...lite.TaskState }).toEqual({ ...full.TaskState });
    expect({ ...lite.NodeAvailability }).toEqual({ ...full.NodeAvailability });
  });
});
