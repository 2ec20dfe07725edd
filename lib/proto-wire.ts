import type * as Wire from '@bufbuild/protobuf/wire';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * BinaryReader and BinaryWriter — all that ts-proto's generated code takes from
 * @bufbuild/protobuf/wire — without the rest of that entry point: its index also loads
 * size-delimited streams and through them the reflection API, 19 modules in all where these two
 * classes need 4, about 12 ms of every CLI start. Only the CLI's message tree (gen/lite) imports
 * this module, rewritten so by `npm run gen` (scripts/gen-lite-imports.mjs); gen/ keeps the
 * package's own import.
 *
 * The file is found next to the package's CommonJS wire index, as the package lays it out; the
 * lite messages' unit tests fail if a new version moves it.
 */
const requireCjs = createRequire(import.meta.url);
const binaryEncoding = join(dirname(requireCjs.resolve('@bufbuild/protobuf/wire')), 'binary-encoding.js');
const wire = requireCjs(binaryEncoding) as Pick<typeof Wire, 'BinaryReader' | 'BinaryWriter'>;

export const BinaryReader = wire.BinaryReader;
export type BinaryReader = Wire.BinaryReader;
export const BinaryWriter = wire.BinaryWriter;
export type BinaryWriter = Wire.BinaryWriter;
