// After `buf generate`, two rewrites of the CLI's message tree (gen/lite, see buf.gen.yaml):
//
// 1. Its files import lib/proto-wire.ts instead of @bufbuild/protobuf/wire, whose index loads 15
//    modules the generated code never uses (see lib/proto-wire.ts).
// 2. Its enums keep their values but take the full tree's enum types (gen/tswarm/v1/…), through
//    type-only imports: TypeScript enums are nominal, so without this a lite message's
//    `role: NodeRole` would not be the daemon-side `NodeRole`, and code that mixes the trees
//    (bench/ and lab/ use the CLI's DaemonClient with the full tree's enums) would compare
//    unrelated enums. Messages themselves are interfaces, which match by shape.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'gen/lite/tswarm/v1';
const WIRE_FROM = '"@bufbuild/protobuf/wire"';
const WIRE_TO = '"../../../../lib/proto-wire.js"';
const ENUM = /^export enum (\w+) \{\n([^}]*)\}\n/gm;

for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
  const path = join(dir, name);
  let text = readFileSync(path, 'utf8');
  if (!text.includes(WIRE_FROM))
    throw new Error(`${path} does not import ${WIRE_FROM}: ts-proto's output changed, check lib/proto-wire.ts`);
  text = text.replaceAll(WIRE_FROM, WIRE_TO);
  const full = `"../../../tswarm/v1/${name.replace(/\.ts$/, '.js')}"`;
  text = text.replace(
    ENUM,
    (_, enumName, body) =>
      `enum ${enumName}$ {\n${body}}\n` +
      `/** ${enumName}'s values, typed as the full tree's ${enumName} (scripts/gen-lite-imports.mjs). */\n` +
      `export const ${enumName} = ${enumName}$ as unknown as typeof import(${full}).${enumName};\n` +
      `export type ${enumName} = import(${full}).${enumName};\n`,
  );
  if (/^export enum /m.test(text))
    throw new Error(`${path}: an enum was not rewritten: ts-proto's output changed, check ${import.meta.filename}`);
  writeFileSync(path, text);
}
