import { readFile } from 'node:fs/promises';
import { TswarmError } from '../../../lib/errors.js';

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
/** A CA bundle is a few certificates; a larger file is a wrong path (a disk image, a log). */
const CA_BUNDLE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The registry CA bundle (`tswarmd --registry-ca`), read and checked once: a missing file or one
 * without a PEM certificate is named at start-up, not found out at the first pull.
 */
export async function readCaBundle(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `cannot read the registry CA bundle ${path} (${code}). Give --registry-ca a readable PEM file of CA certificates`,
      { cause: err },
    );
  }
  if (bytes.length > CA_BUNDLE_BYTES_MAX || !bytes.toString('latin1').includes(PEM_CERTIFICATE)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the registry CA bundle ${path} holds no PEM certificate ("${PEM_CERTIFICATE}"). Give --registry-ca a PEM file of CA certificates`,
    );
  }
  return bytes;
}

const HOST_PORT =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/**
 * A registry named for plain HTTP (`--insecure-registry`): HOST or HOST:PORT, as image references
 * name it. A scheme or a path would never match a reference, so it would silently do nothing.
 */
export function parseInsecureRegistry(value: string): string {
  const match = HOST_PORT.exec(value);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `insecure registry "${value}" is not HOST or HOST:PORT. Give it as image references name it, without a scheme or path, e.g. 192.168.77.5:5000`,
    );
  }
  return value.toLowerCase();
}
