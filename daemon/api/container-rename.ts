import { TswarmError } from '../../lib/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { Route } from './router.js';
import { containerRef, noSuchContainer } from './params.js';

/** Docker's container names (moby daemon/names: RestrictedNameChars), a leading slash allowed. */
const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Longer than any name a person types; the record and every listing stay small. */
const NAME_CHARS_MAX = 256;

/**
 * The new name of `POST /containers/{id}/rename?name=`, checked as dockerd checks it, in its words
 * (400s): not empty, and Docker's characters — at least two, the first a letter or digit. The
 * leading slash some clients send is dropped.
 */
export function renameTarget(raw: string | null): string {
  const name = (raw ?? '').trim();
  const bare = name.replace(/^\//, '');
  if (bare === '') throw new TswarmError('INVALID_ARGUMENT', 'Neither old nor new names may be empty');
  if (name.length > NAME_CHARS_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the container name is too long. Give at most ${NAME_CHARS_MAX} characters`,
    );
  if (!NAME_PATTERN.test(name))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `Invalid container name (/${bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  return bare;
}

/**
 * `POST /containers/{id}/rename`: 204, or 404 (no such container), 400 (a bad name, or the name it
 * has), 409 (a name another container has, in dockerd's words).
 */
export function renameRoute(engine: Engine): Route {
  return {
    method: 'POST',
    path: '/containers/{id}/rename',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const name = renameTarget(req.query.get('name'));
      const id = noSuchContainer(ref, () => engine.containerInspect(ref)).container!.id;
      try {
        await engine.containerRename(id, name);
      } catch (err) {
        if (err instanceof TswarmError && err.code === 'ALREADY_EXISTS')
          throw new TswarmError(err.code, `Error when allocating new name: ${err.message}`, { cause: err });
        throw err;
      }
      reply.empty(204);
    },
  };
}
