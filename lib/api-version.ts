/**
 * The Engine API versions tswarmd speaks: 1.41 is Debian 12's docker.io, 1.50 the docker CLI
 * 28.2. Here, apart from the server, so tswarm's own client names the version it speaks without
 * loading the daemon's code.
 */
export const API_VERSION_MIN = '1.41';
export const API_VERSION_MAX = '1.50';

/**
 * The response header that carries tswarm's error code beside Docker's `{"message": …}` body:
 * Docker's clients ignore it; tswarm's CLI rebuilds the same error (and its exit code) from it.
 */
export const ERROR_CODE_HEADER = 'tswarm-error-code';

/**
 * The one prefix of the operations Docker has no endpoint for (docs/architecture.md, The local
 * API): a path under it is tswarm's own, never a Docker one.
 */
export const TSWARM_API_PREFIX = '/tswarm';

/**
 * A request header tswarm's CLI sends with `service logs`: warnings about nodes whose lines are
 * missing come in the stream as they happen (a system-error frame starting "warning: ") and the
 * stream goes on. Docker's clients end at such a frame, so without the header dockerd's way holds:
 * one frame at the end of the stream, none while following.
 */
export const LOG_WARNINGS_HEADER = 'tswarm-log-warnings';
