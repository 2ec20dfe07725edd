import { TswarmError } from '../../lib/errors.js';
import { API_VERSION_MAX, API_VERSION_MIN } from '../../lib/api-version.js';

// A client negotiates down from the `API-Version` header of `/_ping`; a request for a version
// outside the range is refused as dockerd refuses it.
export { API_VERSION_MAX, API_VERSION_MIN };

/** The request's path without its `/vX.Y` prefix, and the version it asked for (the newest when none). */
export interface ApiPath {
  version: string;
  path: string;
}

const VERSIONED = /^\/v(\d+\.\d+)(\/.*)$/;

function compare(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

/** Splits `/v1.45/containers/json` into its version and path; refuses versions outside the range. */
export function parseApiPath(pathname: string): ApiPath {
  const m = VERSIONED.exec(pathname);
  if (!m) return { version: API_VERSION_MAX, path: pathname };
  const version = m[1]!;
  if (compare(version, API_VERSION_MAX) > 0) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION_MAX}`,
    );
  }
  if (compare(version, API_VERSION_MIN) < 0) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `client version ${version} is too old. Minimum supported API version is ${API_VERSION_MIN}, please upgrade your client to a newer version`,
    );
  }
  return { version, path: m[2]! };
}

/** True when the request's version is at least `v`: fields that newer versions added. */
export function versionAtLeast(version: string, v: string): boolean {
  return compare(version, v) >= 0;
}
