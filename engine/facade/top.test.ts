import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import { checkPsArgs, parsePsOutput, psTop } from './top.js';

const EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        4242    4200  0 10:01 ?        00:00:00 sleep 300
root        4250    4242  0 10:01 ?        00:00:00 sh -c echo "a  b" ; sleep 1
root        5000       1  0 10:02 ?        00:00:00 sleep 999
`;

describe('parsePsOutput', () => {
  it('keeps the titles and only the rows of the given PIDs, the command with its arguments in one column', () => {
    const r = parsePsOutput(EF, new Set([4242, 4250]));
    expect(r.titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(r.processes).toEqual([
      ['root', '4242', '4200', '0', '10:01', '?', '00:00:00', 'sleep 300'],
      // Runs of spaces inside the command collapse, as dockerd's field split does.
      ['root', '4250', '4242', '0', '10:01', '?', '00:00:00', 'sh -c echo "a b" ; sleep 1'],
    ]);
  });

  it('finds the PID column wherever it is (ps aux puts it second)', () => {
    const aux = `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           7  0.0  0.0   1600   900 ?        Ss   10:00   0:00 sleep 300
root           8  0.0  0.0   1600   900 ?        Ss   10:00   0:00 top -b
`;
    expect(parsePsOutput(aux, new Set([8])).processes).toEqual([
      ['root', '8', '0.0', '0.0', '1600', '900', '?', 'Ss', '10:00', '0:00', 'top -b'],
    ]);
  });

  it('keeps thread rows ("-" as PID) after a kept process only', () => {
    const threads = `USER  PID TID CMD
root  10  -  app
root  -   10 -
root  -   11 -
root  20  -  other
root  -   20 -
`;
    expect(parsePsOutput(threads, new Set([10])).processes).toEqual([
      ['root', '10', '-', 'app'],
      ['root', '-', '10', '-'],
      ['root', '-', '11', '-'],
    ]);
  });

  it('is empty (titles only) when none of the PIDs is listed', () => {
    expect(parsePsOutput(EF, new Set([1234]))).toEqual({
      titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      processes: [],
    });
  });

  it('fails as dockerd without a PID column, or with one that is not a number', () => {
    expect(() => parsePsOutput('USER COMMAND\nroot sleep\n', new Set([1]))).toThrow(
      "Couldn't find PID field in ps output",
    );
    expect(() => parsePsOutput('USER PID\nroot x1\n', new Set([1]))).toThrow("Unexpected pid 'x1'");
  });
});

describe('checkPsArgs', () => {
  it('lets through ordinary arguments and a pid= rename, refuses another column named PID (a 500, as dockerd)', () => {
    expect(() => checkPsArgs('aux')).not.toThrow();
    expect(() => checkPsArgs('-o pid=PID,comm')).not.toThrow();
    const err = (() => {
      try {
        checkPsArgs('-o user=PID');
      } catch (e) {
        return e as TswarmError;
      }
    })();
    expect(err?.code).toBe('INTERNAL');
    expect(err?.message).toBe('specifying "user=PID" is not allowed');
    expect(() => checkPsArgs('x'.repeat(2000))).toThrow(/at most/);
  });
});

describe('psTop on this host', () => {
  it("lists this test process by its PID, with ps's own args; a bad option is ps's error", async () => {
    const mine = await psTop('-o pid,comm', [process.pid]);
    expect(mine.titles).toEqual(['PID', 'COMMAND']);
    expect(mine.processes.map((p) => p[0])).toEqual([String(process.pid)]);
    await expect(psTop('--no-such-option', [process.pid])).rejects.toThrow(/^ps: /);
  });
});
