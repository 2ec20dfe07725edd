import { Header, Pax } from 'tar';

/** What a tar entry's header says; `path` is relative, directories end in "/". */
export interface TarHead {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
}

const BLOCK = 512;

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/**
 * One entry's header block, preceded by a pax extended header when a field does not fit ustar
 * (a path over 255 bytes, a large uid, a size over 8 GiB), as GNU tar and Docker write them.
 */
export function tarHeader(head: TarHead): Buffer {
  const block = Buffer.alloc(BLOCK);
  const header = new Header({ ...head, mode: head.mode & 0o7777 });
  const needPax = header.encode(block);
  if (!needPax) return block;
  const pax = new Pax({
    path: head.path,
    ...(head.linkpath ? { linkpath: head.linkpath } : {}),
    size: head.size,
    uid: head.uid,
    gid: head.gid,
    mtime: head.mtime,
  }).encode();
  return Buffer.concat([pax, block]);
}

/** Zeros that round `size` bytes of content up to whole blocks. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}
