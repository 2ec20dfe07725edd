import { TswarmError, type ErrorCode } from '../../lib/errors.js';

/**
 * An image operation failed. `retryable` says whether trying the same thing again later can
 * succeed (a registry that is down, a rate limit) or not (no such image, refused credentials, a
 * registry serving content that does not match its digest): the services work turns a permanent
 * failure into a REJECTED task instead of retrying it forever.
 */
export class ImageError extends TswarmError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export function isRetryableImageError(err: unknown): boolean {
  return err instanceof ImageError && err.retryable;
}

export function invalidReference(ref: string, why: string): ImageError {
  return new ImageError(
    'INVALID_ARGUMENT',
    `invalid image reference "${ref}": ${why}. Use NAME[:TAG] or NAME@sha256:DIGEST`,
    false,
  );
}

export function imageNotFound(image: string, detail: string): ImageError {
  return new ImageError(
    'NOT_FOUND',
    `image ${image} not found: ${detail}. Check the name and tag, and that you are logged in to the registry if it is private`,
    false,
  );
}

export function registryUnreachable(
  image: string,
  registry: string,
  cause: unknown,
  action: 'pull' | 'push' = 'pull',
): ImageError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ImageError(
    'UNAVAILABLE',
    `cannot ${action} ${image}: registry ${registry} is unreachable (${why}). Check that it is running and reachable from this node, then retry`,
    true,
    { cause },
  );
}

/** A TLS failure with a registry: permanent until the operator trusts its CA or names it insecure. */
export function tlsRefused(
  image: string,
  registry: string,
  cause: Error & { code: string },
  action: 'pull' | 'push' = 'pull',
): ImageError {
  return new ImageError(
    'FAILED_PRECONDITION',
    `cannot ${action} ${image}: the TLS handshake with registry ${registry} failed (${cause.code}). If the registry's certificate comes from a private CA, start tswarmd with --registry-ca FILE; if it serves plain HTTP, with --insecure-registry ${registry}`,
    false,
    { cause },
  );
}

export function credentialsRefused(
  image: string,
  registry: string,
  status: number,
  action: 'pull' | 'push' = 'pull',
): ImageError {
  return new ImageError(
    'UNAUTHENTICATED',
    `cannot ${action} ${image}: registry ${registry} refused the credentials (HTTP ${status}). Run "tswarm login ${registry}" with valid credentials`,
    false,
  );
}

export function digestMismatch(image: string, digest: string, actual: string): ImageError {
  return new ImageError(
    'FAILED_PRECONDITION',
    `cannot pull ${image}: content of ${digest} does not match its digest (got ${actual}); the partial download was discarded. The registry serves corrupt or tampered data: fix the registry or the image`,
    false,
  );
}

export function unsupportedMediaType(image: string, mediaType: string): ImageError {
  return new ImageError(
    'UNIMPLEMENTED',
    `cannot use ${image}: unsupported media type "${mediaType}". Push the image as an OCI or Docker v2 schema 2 image`,
    false,
  );
}

export function tooLarge(image: string, what: string, bytesLimit: number): ImageError {
  return new ImageError(
    'RESOURCE_EXHAUSTED',
    `cannot use ${image}: ${what} is larger than the limit of ${bytesLimit} bytes. The image is malformed or hostile`,
    false,
  );
}

export function malformed(image: string, what: string): ImageError {
  return new ImageError(
    'INVALID_ARGUMENT',
    `cannot use ${image}: ${what}. The image is malformed: rebuild or re-push it`,
    false,
  );
}

/**
 * A layer blob already in this node's store would not unpack: it was damaged on disk after it was
 * verified (the store checks digests only when a blob is written). Not retryable as is: the image
 * has to be removed and pulled again, which the message says.
 */
export function damagedLayer(image: string, digest: string, cause: unknown): ImageError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ImageError(
    'FAILED_PRECONDITION',
    `layer ${digest} of ${image} is damaged on this node (${why}). Remove the image (tswarm image rm ${image}) and pull it again`,
    false,
    { cause },
  );
}
