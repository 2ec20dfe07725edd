/**
 * Certificate lifetimes, apart from the x509 code so the CLI can check flags without loading it.
 */
export const NODE_CERT_VALIDITY_MS_DEFAULT = 90 * 24 * 3600 * 1000;
/** `--cert-expiry` may go down to an hour; shorter lifetimes exist only for tests of renewal. */
export const NODE_CERT_VALIDITY_MS_MIN = 3600 * 1000;
/** Every certificate starts an hour in the past, so machines with skewed clocks accept it at once. */
export const BACKDATE_MS = 3600 * 1000;

/**
 * Set to 1 (in the daemon's and the CLI's environment) to allow lifetimes under the hour, so a
 * test of renewal sees certificates renew within seconds. Never set in production.
 */
export const TEST_SHORT_CERTS_ENV = 'TSWARM_TEST_ALLOW_SHORT_CERTS';

/** Whether `--cert-expiry` / `NodeCertExpiry` below NODE_CERT_VALIDITY_MS_MIN is allowed here. */
export function shortCertsAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_SHORT_CERTS_ENV] === '1';
}
