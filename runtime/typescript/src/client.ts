import type { MethodSpec } from './spec';
import { Unimplemented } from './errors';

export interface ConnectOptions {
  queue?: string;
  name?: string;
}
export interface CallOptions {
  timeout?: number | null;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export class Client {
  constructor(protected readonly connection: unknown) {}
  static async connect<C extends Client>(this: new (connection: any) => C, url?: string, options?: ConnectOptions): Promise<C> {
    void url;
    void options;
    return new this(null);
  }
  protected call<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    void request;
    void options;
    return Promise.reject(new Unimplemented(`${method.name}: not yet`));
  }
  async close(): Promise<void> {}
}
