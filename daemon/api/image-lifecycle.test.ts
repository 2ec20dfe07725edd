import { describe, expect, it } from 'vitest';
import { commitOverrides } from './image-lifecycle.js';

describe('the commit body', () => {
  it('is optional: nothing and null (what the docker CLI sends) override nothing', () => {
    expect(commitOverrides(Buffer.from(''))).toBeUndefined();
    expect(commitOverrides(Buffer.from('null\n'))).toBeUndefined();
  });

  it("takes the config fields that are set, leaving Docker's zero values to the container", () => {
    const body = { Cmd: ['app'], Env: [], WorkingDir: '', Labels: { a: 'b' }, Hostname: 'ignored' };
    expect(commitOverrides(Buffer.from(JSON.stringify(body)))).toEqual({ Cmd: ['app'], Labels: { a: 'b' } });
  });

  it('refuses a field of the wrong type, naming it', () => {
    expect(() => commitOverrides(Buffer.from('{"Cmd":"app"}'))).toThrow(/Cmd must be an array, not string/);
    expect(() => commitOverrides(Buffer.from('[1]'))).toThrow(/container config/);
  });
});
