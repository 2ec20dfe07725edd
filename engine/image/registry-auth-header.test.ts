import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { credentialsFromAuth, decodeRegistryAuth, encodeRegistryAuth } from './registry-auth-header.js';

describe('X-Registry-Auth', () => {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('decodes base64url JSON; empty or {} is no credentials; malformed is refused', () => {
    expect(decodeRegistryAuth(enc({ username: 'u', password: 'p?>', serveraddress: 'r:5000' }))).toEqual({
      username: 'u',
      password: 'p?>',
      serveraddress: 'r:5000',
    });
    expect(decodeRegistryAuth(enc({ identitytoken: 't' }))).toEqual({ identitytoken: 't' });
    expect(decodeRegistryAuth(enc({}))).toBeUndefined();
    expect(decodeRegistryAuth(undefined)).toBeUndefined();
    expect(thrownCode(() => decodeRegistryAuth('!!!not-json'))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => decodeRegistryAuth(enc(['u'])))).toBe('INVALID_ARGUMENT');
  });

  it('encodes what it decodes, as the docker CLI does (base64url, with the server address)', () => {
    const header = encodeRegistryAuth({ username: 'bob', password: 'p/w+?>' }, '192.168.77.5:5001');
    expect(header).not.toMatch(/[+/=]/);
    expect(decodeRegistryAuth(header)).toEqual({
      username: 'bob',
      password: 'p/w+?>',
      serveraddress: '192.168.77.5:5001',
    });
    expect(credentialsFromAuth(decodeRegistryAuth(header))).toEqual({ username: 'bob', password: 'p/w+?>' });
  });

  it('gives no credentials without both a user and a password; refuses an identity token alone', () => {
    expect(credentialsFromAuth(undefined)).toBeUndefined();
    expect(credentialsFromAuth({ username: 'u', serveraddress: 'r' })).toBeUndefined();
    expect(thrownCode(() => credentialsFromAuth({ identitytoken: 't' }))).toBe('UNAUTHENTICATED');
  });
});
