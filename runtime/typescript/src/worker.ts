import type { CallContext } from './context';
import type { ServiceSpec } from './spec';

export type Handler<Req, Res> = (request: Req, context: CallContext) => Res | Promise<Res>;
export interface ServeOptions {
  url?: string;
  queue?: string;
  prefetch?: number;
  concurrency?: number;
  reflection?: boolean;
}
export interface Worker {
  readonly queue: string;
  close(): Promise<void>;
}
export async function serveService(
  service: ServiceSpec,
  handlers: Record<string, Handler<any, any>>,
  options?: ServeOptions,
): Promise<Worker> {
  void handlers;
  return { queue: options?.queue ?? service.queue, close: async () => {} };
}
