/**
 * Certificate lifetimes, apart from the x509 code so the CLI can check flags without loading it.
 */
export const NODE_CERT_VALIDITY_MS_DEFAULT = 90 * 24 * 3600 * 1000;
/** `--cert-expiry` may go down to an hour; shorter lifetimes exist only for tests of renewal. */
export const NODE_CERT_VALIDITY_MS_MIN = 3600 * 1000;
/** Every certificate starts an hour in the past, so machines with skewed clocks accept it at once. */
export const BACKDATE_MS = 3600 * 1000;
