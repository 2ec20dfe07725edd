/**
 * Engine bookkeeping kept in a container's labels, so it survives restarts with the runtime's
 * own record and needs no second file: the image the container was made from (image removal
 * checks it), its network attachment, and whether the engine removes it when it exits.
 */
export const LABEL_IMAGE_ID = 'tswarm.engine.image-id';
export const LABEL_ATTACHMENT = 'tswarm.engine.attachment';
export const LABEL_AUTO_REMOVE = 'tswarm.engine.auto-remove';

/** Every engine label starts so; they are the engine's, not the user's (inspect and events leave them out). */
export const ENGINE_LABEL_PREFIX = 'tswarm.engine.';

/** The labels the user gave: without the engine's own. */
export function userLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith(ENGINE_LABEL_PREFIX)));
}
