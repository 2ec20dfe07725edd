import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import { Router, type Route } from './router.js';

const noop: Route['handler'] = async () => undefined;

function router(...paths: [Route['method'], string][]): Router {
  return new Router(paths.map(([method, path]) => ({ method, path, handler: noop })));
}

describe('Router', () => {
  it('binds a one-segment parameter, URL-decoded', () => {
    const r = router(['GET', '/containers/{id}/json']);
    const m = r.match('GET', '/containers/web%201/json');
    expect(m.route.path).toBe('/containers/{id}/json');
    expect(m.params).toEqual({ id: 'web 1' });
    expect(() => r.match('GET', '/containers/a/b/json')).toThrow(TswarmError);
  });

  it('binds a {name*} parameter across segments, with a registry port', () => {
    const r = router(['GET', '/images/json'], ['GET', '/images/{name*}/json'], ['DELETE', '/images/{name*}']);
    expect(r.match('GET', '/images/json').route.path).toBe('/images/json');
    expect(r.match('GET', '/images/192.168.77.5:5000/lab/busybox:1/json').params).toEqual({
      name: '192.168.77.5:5000/lab/busybox:1',
    });
    expect(r.match('GET', '/images/busybox/json').params).toEqual({ name: 'busybox' });
    expect(r.match('GET', '/images/a%2Fb/json').params).toEqual({ name: 'a/b' });
    expect(r.match('DELETE', '/images/lab/busybox:1').params).toEqual({ name: 'lab/busybox:1' });
    // The tail of the template is matched last: a name may itself end in a segment "json".
    expect(r.match('GET', '/images/lab/json/json').params).toEqual({ name: 'lab/json' });
  });

  it('does not let {name*} match an empty segment or nothing', () => {
    const r = router(['GET', '/images/{name*}/json']);
    expect(() => r.match('GET', '/images//json')).toThrow('page not found');
    expect(() => r.match('GET', '/images/a//b/json')).toThrow('page not found');
  });

  it('escapes the literal parts of a template', () => {
    const r = router(['GET', '/a.b/{id}']);
    expect(r.match('GET', '/a.b/x').params).toEqual({ id: 'x' });
    expect(() => r.match('GET', '/aXb/x')).toThrow('page not found');
  });

  it('answers HEAD with a GET route and refuses another method', () => {
    const r = router(['GET', '/_ping']);
    expect(r.match('HEAD', '/_ping').route.method).toBe('GET');
    expect(() => r.match('POST', '/_ping')).toThrow('page not found');
  });
});
