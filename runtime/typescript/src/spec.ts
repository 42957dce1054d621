// What generated code hands the runtime: one MethodSpec per method, one ServiceSpec per service
// (the TypeScript side of runtime/leveret/_spec.py).

import type { RpcError, RpcErrorOptions } from './errors';

/** A JSON Schema (draft 2020-12), self-contained ($defs inside). */
export interface Schema {
  [key: string]: unknown;
}

/** A declared error class (generated): `class OutOfStock extends FailedPrecondition`. */
export interface DeclaredErrorClass {
  /** The error's name in the definition, sent as `error` in the reply body. */
  readonly errorName: string;
  /** The JSON Schema of its details; details that fail it arrive as the plain status class. */
  readonly detailsSchema?: Schema | null;
  new (message: string, details: any, options?: RpcErrorOptions): RpcError;
}

export interface MethodSpec<Req, Res> {
  /** The wire method name (AMQP `type`). */
  readonly name: string;
  /** Self-contained JSON Schema of the request object. */
  readonly request: Schema;
  /** Self-contained JSON Schema of the response object. */
  readonly response: Schema;
  /** The method's declared errors. */
  readonly errors: readonly DeclaredErrorClass[];
  /** Safe to run twice: retried on any UNAVAILABLE within the deadline. */
  readonly idempotent: boolean;
  /** The default deadline in seconds; null: no deadline. */
  readonly timeout: number | null;
  /** Sent as `rpc-fingerprint`; null: not sent. */
  readonly fingerprint: string | null;
  /** Phantom, for inference only: never set. */
  readonly __types?: [Req, Res];
}

export interface ServiceSpec {
  /** The service's name (`Inventory`), as in the definition. */
  readonly name: string;
  /** The default request queue (`shop.Inventory`). */
  readonly queue: string;
  /** The fingerprint of the whole contract (the reply to `leveret.describe` carries it). */
  readonly fingerprint: string | null;
  readonly methods: Readonly<Record<string, MethodSpec<any, any>>>;
  /** The self-contained definition document, for `leveret.describe`; null: not answered. */
  readonly definition: unknown;
}

/** A MethodSpec, typed by its request and response. */
export function methodSpec<Req, Res>(spec: Omit<MethodSpec<Req, Res>, '__types'>): MethodSpec<Req, Res> {
  return Object.freeze({ ...spec });
}

/** The request type of a MethodSpec. */
export type RequestOf<M> = M extends MethodSpec<infer Req, any> ? Req : never;
/** The response type of a MethodSpec. */
export type ResponseOf<M> = M extends MethodSpec<any, infer Res> ? Res : never;
