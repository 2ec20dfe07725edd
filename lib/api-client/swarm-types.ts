/**
 * The Engine API's answers about the swarm and the daemon, as far as tswarm's own CLI, lab and
 * bench read them (moby's api/swagger.yaml; the server is daemon/api/). Only the fields read
 * here are declared: the answers hold more.
 */

export type NodeRoleName = 'manager' | 'worker';
export type NodeAvailabilityName = 'active' | 'pause' | 'drain';

/** Docker's `NodeSpec`: what `POST /nodes/{id}/update` takes, whole. */
export interface DockerNodeSpec {
  Name?: string;
  Labels: Record<string, string>;
  Role: NodeRoleName;
  Availability: NodeAvailabilityName;
}

/** Docker's `Node` (`GET /nodes`, `GET /nodes/{id}`). */
export interface DockerNode {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerNodeSpec;
  Description: {
    Hostname: string;
    Platform: { Architecture: string; OS: string };
    Resources: { NanoCPUs: number; MemoryBytes: number };
    Engine: { EngineVersion: string; Labels?: Record<string, string> };
    TLSInfo?: DockerTlsInfo;
  };
  /** State: unknown, down, ready or disconnected. */
  Status: { State: string; Message?: string; Addr: string };
  /** Present on managers only. Reachability: unknown, unreachable or reachable. */
  ManagerStatus?: { Leader: boolean; Reachability: string; Addr: string };
}

/** Docker's `TLSInfo`: a trust root (PEM) and a certificate issuer (DER, base64). */
export interface DockerTlsInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

/** Docker's `Swarm` (`GET /swarm`, managers only). `Spec` is sent back whole to `/swarm/update`. */
export interface DockerSwarm {
  ID: string;
  Version: { Index: number };
  Spec: Record<string, unknown>;
  JoinTokens: { Worker: string; Manager: string };
  TLSInfo: DockerTlsInfo;
  RootRotationInProgress: boolean;
}

/** Docker's `Info.Swarm`. */
export interface DockerSwarmInfo {
  NodeID: string;
  NodeAddr: string;
  /** inactive, pending, active, error or locked. */
  LocalNodeState: string;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes: number;
  Managers: number;
}

/** Docker's `GET /info`, the parts tswarm reads. */
export interface DockerInfo {
  ServerVersion: string;
  Containers: number;
  ContainersRunning: number;
  Images: number;
  Swarm: DockerSwarmInfo;
}

/** Docker's `GET /version`. */
export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  GitCommit: string;
  Os: string;
  Arch: string;
  Components?: { Name: string; Details?: { NodeVersion?: string } }[];
}

/** `GET /tswarm/info`: the node facts Docker's /info has no field for (daemon/api/tswarm.ts). */
export interface TswarmInfo {
  Hostname: string;
  DataDir: string;
  NamePrefix: string;
  Pid: number;
  LogLevel: string;
  StartedAt: string;
  Runtime: string;
  CgroupLayout: string;
  Warnings: string[];
  /** The cluster's ID, also on a worker; '' outside a swarm. */
  ClusterID: string;
  /** The address this node advertises, with its port; '' outside a swarm. */
  NodeAddr: string;
  /** The manager answering this node's heartbeats now; null while none does (or outside a swarm). */
  HeartbeatManager?: { NodeID: string; Addr: string } | null;
  /** The manager this node's task session goes through now; null while none is open. */
  SessionManager?: { NodeID: string; Addr: string } | null;
}

/** Docker's `Mount` (mount/mount.go), the options `--mount` gives. */
export interface DockerMount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** Docker's `PortConfig` of a service's EndpointSpec. */
export interface DockerPortConfig {
  Protocol: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  /** 0: the swarm picks one. */
  PublishedPort: number;
  PublishMode: 'ingress' | 'host';
}

/** Docker's `HealthConfig`: durations in nanoseconds; `Test` left out keeps the image's check. */
export interface DockerHealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

/** Docker's `RestartPolicy` of a task template: durations in nanoseconds. */
export interface DockerRestartPolicy {
  Condition: 'none' | 'on-failure' | 'any';
  Delay: number;
  MaxAttempts: number;
  Window: number;
}

/** Docker's `ServiceSpec`, the parts tswarm's CLI writes and reads; the rest is sent back as read. */
export interface DockerServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Args?: string[];
      Env?: string[];
      Labels?: Record<string, string>;
      [field: string]: unknown;
    };
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number };
      Reservations?: { NanoCPUs?: number; MemoryBytes?: number };
    };
    RestartPolicy?: DockerRestartPolicy;
    Placement?: {
      /** The image's platforms, which `service create` reads from the registry with its digest. */
      Platforms?: { Architecture: string; OS: string }[];
      Constraints?: string[];
      Preferences?: { Spread: { SpreadDescriptor: string } }[];
      MaxReplicas?: number;
    };
    [field: string]: unknown;
  };
  Mode?: {
    Replicated?: { Replicas: number };
    Global?: Record<string, never>;
    ReplicatedJob?: { MaxConcurrent: number; TotalCompletions: number };
    GlobalJob?: Record<string, never>;
  };
  EndpointSpec?: { Mode?: 'vip' | 'dnsrr'; Ports?: DockerPortConfig[] };
  [field: string]: unknown;
}

/** Docker's `Service` (`GET /services`, `GET /services/{id}`). */
export interface DockerService {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerServiceSpec;
  /** With `?status=true` (and on inspect): tasks running and wanted. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
  /** A job's only: which run of the job is current. */
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: string };
}

/** Docker's `Task` (`GET /tasks`, `GET /tasks/{id}`). States: new, pending, assigned, … running, shutdown, … */
export interface DockerTask {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  /** A job's tasks: the run of the job they belong to. */
  JobIteration?: { Index: number };
  Spec: { ContainerSpec?: { Image: string } };
  Status: { Timestamp: string; State: string; Message: string; Err?: string };
  DesiredState: string;
}
