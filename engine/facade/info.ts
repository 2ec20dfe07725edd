import type { ImageService } from '../image/images.js';
import type { ContainerRuntime } from '../runtime/runtime.js';

/** What `tswarm info` shows of the engine: counts, and what the host probe found. */
export interface EngineInfo {
  containers: number;
  containersRunning: number;
  images: number;
  runtime: string;
  cgroupLayout: string;
  warnings: string[];
}

export async function engineInfo(runtime: ContainerRuntime, images: ImageService): Promise<EngineInfo> {
  const all = runtime.list({ all: true });
  const host = runtime.host;
  return {
    containers: all.length,
    containersRunning: all.filter((c) => c.state?.status === 'running').length,
    images: (await images.list()).length,
    runtime: `${host.runtime}${host.runtimeVersion ? ` ${host.runtimeVersion}` : ''}`,
    cgroupLayout: host.cgroupLayout,
    warnings: host.missing,
  };
}
