/**
 * Typed failures of the durable Raft log. Each carries a stable `code`, which toTswarmError maps
 * to the TswarmError code (and so the gRPC status and exit code) it stands for; messages read
 * "<what happened>. <what to do>." so an operator knows the next step without reading code.
 */
import { TswarmError, type ConvertibleError, type ErrorCode } from '../../../../lib/errors.js';

export type WalErrorCode =
  /** A record or file failed its checksum or structure somewhere a crash cannot explain. */
  | 'WAL_CORRUPT'
  /** The disk (or quota) is full: the write was not acknowledged and nothing new is durable. */
  | 'DISK_FULL'
  /** An I/O error other than a full disk while writing. */
  | 'WAL_IO'
  /** An fsync failed, or a failed write could not be undone: the WAL refuses further writes until reopened. */
  | 'WAL_FAILED'
  | 'WAL_CLOSED'
  /** More operations queued than the bound allows: the caller is not waiting for its writes. */
  | 'WAL_BUSY'
  | 'WAL_RECORD_TOO_LARGE'
  | 'SNAPSHOT_CORRUPT'
  /** The WAL names a snapshot that no valid snapshot file provides. */
  | 'SNAPSHOT_MISSING'
  | 'SNAPSHOT_TOO_LARGE';

/** What each WAL code is to the rest of tswarm: its gRPC status and exit code follow from it. */
const TSWARM_CODE: Record<WalErrorCode, ErrorCode> = {
  WAL_CORRUPT: 'DATA_CORRUPT',
  SNAPSHOT_CORRUPT: 'DATA_CORRUPT',
  SNAPSHOT_MISSING: 'DATA_CORRUPT',
  DISK_FULL: 'RESOURCE_EXHAUSTED',
  WAL_BUSY: 'RESOURCE_EXHAUSTED',
  // The write was not acknowledged and the member stops: another member may take it.
  WAL_IO: 'UNAVAILABLE',
  WAL_FAILED: 'UNAVAILABLE',
  WAL_CLOSED: 'UNAVAILABLE',
  WAL_RECORD_TOO_LARGE: 'INVALID_ARGUMENT',
  SNAPSHOT_TOO_LARGE: 'INVALID_ARGUMENT',
};

/** Not an error: the code logged with the warning when a torn tail is cut on open. */
export const WAL_TORN_TAIL_REPAIRED = 'WAL_TORN_TAIL_REPAIRED';

export class WalError extends Error implements ConvertibleError {
  override readonly name = 'WalError';

  constructor(
    readonly code: WalErrorCode,
    message: string,
    readonly details: { file?: string; offsetBytes?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get file(): string | undefined {
    return this.details.file;
  }

  get offsetBytes(): number | undefined {
    return this.details.offsetBytes;
  }

  toTswarmError(): TswarmError {
    return new TswarmError(TSWARM_CODE[this.code], this.message, { cause: this });
  }
}

export function walCorrupt(file: string, offsetBytes: number, what: string): WalError {
  return new WalError(
    'WAL_CORRUPT',
    `raft WAL is corrupt: ${what} in ${file} at byte offset ${offsetBytes}. ` +
      "This is damage a crash cannot cause; do not delete records by hand: remove this manager's raft " +
      'directory and rejoin it from a healthy peer (or restore the cluster from a snapshot backup)',
    { file, offsetBytes },
  );
}

const DISK_FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** A failed write as a WalError: a full disk is its own code so operators see what to fix. */
export function ioError(err: unknown, what: string, file: string): WalError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno !== undefined && DISK_FULL_ERRNOS.has(errno)) {
    return new WalError(
      'DISK_FULL',
      `disk full while ${what} (${file}); the write was not acknowledged. Free space on the data dir's filesystem`,
      { file },
      { cause: err },
    );
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new WalError(
    'WAL_IO',
    `I/O error while ${what} (${file}): ${reason}. Check the disk`,
    { file },
    { cause: err },
  );
}
