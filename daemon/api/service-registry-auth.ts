import type { PullOptions, Service, ServiceSpec } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import {
  credentialsFromAuth,
  decodeRegistryAuth,
  encodeRegistryAuth,
} from '../../engine/image/registry-auth-header.js';

/**
 * A service's registry credentials, as dockerd keeps them: `service create --with-registry-auth`
 * sends the caller's login in X-Registry-Auth, and the service's task spec keeps it in its pull
 * options (SwarmKit's ContainerSpec.PullOptions.RegistryAuth), which reach the workers with
 * their tasks. Docker's ServiceSpec has no field for it, so `service inspect`, `GET /services`
 * and `GET /tasks` never show it (service-shapes.ts writes only Docker's fields).
 */

/**
 * The pull options X-Registry-Auth gives, checked now so a service is never created with
 * credentials its workers cannot use. Only what a pull uses is kept (user, password, registry),
 * re-encoded; a header without credentials (the docker CLI's `{}` when it has no login) gives none.
 */
export function pullOptionsFromHeader(header: string | string[] | undefined): PullOptions | undefined {
  const auth = decodeRegistryAuth(header);
  const credentials = credentialsFromAuth(auth);
  if (!credentials) return undefined;
  return { registryAuth: encodeRegistryAuth(credentials, auth?.serveraddress ?? '') };
}

/**
 * `POST /services/{id}/update`: new credentials when the caller sends some; else the ones the
 * service has, from its spec or, with `registryAuthFrom=previous-spec`, from its previous spec
 * (dockerd's rule), so a scale or any update sent without credentials keeps them.
 */
export function pullOptionsForUpdate(
  header: string | string[] | undefined,
  registryAuthFrom: string | null,
  current: Service,
): PullOptions | undefined {
  const from = registryAuthFrom ?? 'spec';
  if (from !== 'spec' && from !== 'previous-spec')
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `unsupported registryAuthFrom value "${from.slice(0, 40)}". Use spec or previous-spec`,
    );
  const given = pullOptionsFromHeader(header);
  if (given) return given;
  if (from === 'previous-spec' && !current.previousSpec)
    throw new TswarmError('FAILED_PRECONDITION', `service ${current.id} does not have a previous spec`);
  const source = from === 'spec' ? current.spec : current.previousSpec;
  return source?.taskTemplate?.container?.pullOptions;
}

/** The spec with these pull options on its container (a spec without a container is left as is). */
export function withPullOptions(spec: ServiceSpec, pullOptions: PullOptions | undefined): ServiceSpec {
  const container = spec.taskTemplate?.container;
  if (!container || !spec.taskTemplate) return spec;
  return { ...spec, taskTemplate: { ...spec.taskTemplate, container: { ...container, pullOptions } } };
}
