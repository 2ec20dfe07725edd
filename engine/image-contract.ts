/**
 * What the image store hands the runtime: the meeting point of engine/image and engine/runtime,
 * so each can be built and tested without the other.
 */

/** The parts of an OCI image config (application/vnd.oci.image.config.v1+json `config`) a container uses. */
export interface OciImageConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Durations in nanoseconds, as Docker writes them. */
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
}

export interface ImageForRuntime {
  /** sha256:… of the image config. */
  id: string;
  /** The reference the user gave, normalized (e.g. 127.0.0.1:5000/test/busybox:1). */
  reference: string;
  config: OciImageConfig;
  /**
   * Unpacked layer directories, lowest first, never written to: usable directly as overlayfs
   * lowerdirs (whiteouts are 0/0 character devices, opaque dirs carry trusted.overlay.opaque=y).
   */
  layerDirs: string[];
}
