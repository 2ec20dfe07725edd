import { readFileSync } from 'node:fs';
import { findRepoRoot } from './paths.js';
import { join } from 'node:path';
import { arch, platform } from 'node:os';
import type { VersionResponse } from '../gen/tswarm/v1/system.js';

/** The version of the API the daemon and CLI speak, reported by both. */
export const API_VERSION = '1.0';

let cached: string | undefined;

export function tswarmVersion(): string {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(findRepoRoot(), 'package.json'), 'utf8')) as { version: string };
  cached = pkg.version;
  return cached;
}

/** This build's version, as both `tswarm version` and the daemon report it. */
export function versionInfo(): VersionResponse {
  return {
    version: tswarmVersion(),
    apiVersion: API_VERSION,
    nodeVersion: process.version,
    os: platform(),
    arch: arch(),
    gitCommit: '',
  };
}
