import { describe, expect, it } from 'vitest';
import { imageDiskUsage } from './image-usage.js';

const base = { diffId: 'sha256:base', bytes: 1000 };
const app = { diffId: 'sha256:app', bytes: 300 };
const tool = { diffId: 'sha256:tool', bytes: 50 };

describe('imageDiskUsage', () => {
  it('counts a shared layer once on disk, as shared in each image that has it, and containers per image', () => {
    const usage = imageDiskUsage(
      [
        { id: 'sha256:a', layers: [base, app] },
        { id: 'sha256:b', layers: [base, tool] },
        { id: 'sha256:c', layers: [{ diffId: 'sha256:solo', bytes: 7 }] },
      ],
      ['sha256:a', 'sha256:a', 'sha256:c', 'sha256:gone'],
    );
    expect(usage.layersBytes).toBe(1000 + 300 + 50 + 7);
    expect(usage.images).toEqual([
      { id: 'sha256:a', sizeBytes: 1300, sharedBytes: 1000, containers: 2 },
      { id: 'sha256:b', sizeBytes: 1050, sharedBytes: 1000, containers: 0 },
      { id: 'sha256:c', sizeBytes: 7, sharedBytes: 0, containers: 1 },
    ]);
  });

  it('takes a layer listed twice in one image once, and is not shared by that alone', () => {
    const usage = imageDiskUsage([{ id: 'sha256:a', layers: [base, base, app] }], []);
    expect(usage).toEqual({
      layersBytes: 1300,
      images: [{ id: 'sha256:a', sizeBytes: 1300, sharedBytes: 0, containers: 0 }],
    });
  });

  it('uses the largest size known of a layer (an image that recorded 0 for it learns it from another)', () => {
    const usage = imageDiskUsage(
      [
        { id: 'sha256:a', layers: [{ ...base, bytes: 0 }] },
        { id: 'sha256:b', layers: [base] },
      ],
      [],
    );
    expect(usage.layersBytes).toBe(1000);
    expect(usage.images.map((i) => [i.sizeBytes, i.sharedBytes])).toEqual([
      [1000, 1000],
      [1000, 1000],
    ]);
  });

  it('is empty without images', () => {
    expect(imageDiskUsage([], ['sha256:x'])).toEqual({ layersBytes: 0, images: [] });
  });
});
