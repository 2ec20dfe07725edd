/** The slice of a pino logger the storage code needs, so tests can pass a recorder. */
export interface WalLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export const NOOP_LOGGER: WalLogger = { warn() {}, info() {} };
