/**
 * Replays testdata/*.txt (etcd-style interaction scripts) and compares each command's output.
 * REWRITE=1 regenerates the expected outputs; review the diff: the files are specifications.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCommand, parseDataDriven, renderDataDriven, type TestCase } from '../rafttest/datadriven.js';
import { InteractionEnv } from '../rafttest/interaction-env.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const rewrite = process.env['REWRITE'] === '1';

describe('raft interaction scripts', () => {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    it(file, () => {
      const path = join(dir, file);
      const chunks = parseDataDriven(readFileSync(path, 'utf8'));
      const env = new InteractionEnv();
      const actual = new Map<TestCase, string>();
      for (const c of chunks) {
        if (c.kind !== 'case') continue;
        let output: string;
        try {
          output = env.run(parseCommand(c.testCase.command));
        } catch (err) {
          output = `panic: ${(err as Error).message}`;
        }
        actual.set(c.testCase, output);
        if (!rewrite) expect(output, `${file}:${c.testCase.line}: ${c.testCase.command}`).toBe(c.testCase.expected);
      }
      if (rewrite) writeFileSync(path, renderDataDriven(chunks, actual));
    });
  }
});
