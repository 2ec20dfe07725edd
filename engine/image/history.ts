import type { LayerRecord } from './store/image-index.js';

/** One row of `docker history`, newest first, in Docker's API shape. */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

interface ConfigHistory {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * An image's history from its config: one row per history entry, each that made a layer sized
 * by that layer (unpacked), the top row carrying the image's ID and tags and the rest
 * "<missing>" (this node keeps no intermediate images), as Docker shows it.
 */
export function imageHistory(
  configJson: Buffer,
  image: { id: string; layers: readonly LayerRecord[]; tags: string[] },
): HistoryItem[] {
  const doc = JSON.parse(configJson.toString('utf8')) as { history?: ConfigHistory[] };
  const entries = doc.history ?? [];
  let layer = 0;
  const rows = entries.map((h): HistoryItem => {
    const size = h.empty_layer ? 0 : (image.layers[layer++]?.unpackedBytes ?? 0);
    const created = h.created ? Date.parse(h.created) : NaN;
    return {
      Id: '<missing>',
      Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    };
  });
  rows.reverse();
  if (rows.length === 0) rows.push({ Id: '', Created: 0, CreatedBy: '', Tags: null, Size: 0, Comment: '' });
  rows[0] = { ...rows[0]!, Id: image.id, Tags: image.tags.length > 0 ? image.tags : null };
  return rows;
}
