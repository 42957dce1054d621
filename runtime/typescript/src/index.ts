// leveret for TypeScript: the runtime generated clients and servicers use
// (the contract with generated code: /work/notes/ts-api.md).

export { STATUS_NAMES, statusCode, statusFromWire, type StatusName } from './status';
export {
  Aborted,
  AlreadyExists,
  Cancelled,
  ConfigurationError,
  DataLoss,
  DeadlineExceeded,
  errorClassFor,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  LeveretError,
  NotFound,
  OutOfRange,
  PermissionDenied,
  ResourceExhausted,
  RpcError,
  Unauthenticated,
  Unavailable,
  Unimplemented,
  Unknown,
  type ErrorOrigin,
  type RpcErrorOptions,
} from './errors';
export {
  methodSpec,
  type DeclaredErrorClass,
  type MethodSpec,
  type RequestOf,
  type ResponseOf,
  type Schema,
  type ServiceSpec,
} from './spec';
export type { CallContext } from './context';
export type { ContractDrift, Logger } from './drift';
export type { RetryOptions } from './retry';
export { VERSION } from './version';
export { Client, type CallOptions, type ConnectOptions } from './client';
export {
  DESCRIBE_SPEC,
  serveService,
  type Authorize,
  type AuthorizeContext,
  type Handler,
  type ServeOptions,
  type Worker,
} from './worker';
export { check, type ErrorDetail } from './validate';
