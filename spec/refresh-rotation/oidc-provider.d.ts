// The part of oidc-provider 9 (which ships no types) that the rotation specs use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Model {
    save(): Promise<string>;
  }
  interface KoaContext {
    method: string;
    path: string;
  }
  class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly Grant: {
      new (fields: { accountId: string; clientId: string }): Model & { addOIDCScope(scope: string): void };
      find(id: string): Promise<unknown>;
      readonly adapter: { destroy(id: string): Promise<void> };
    };
    readonly RefreshToken: new (fields: Record<string, unknown>) => Model;
    readonly Client: { find(id: string): Promise<unknown> };
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (ctx: unknown, detail: never) => void): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
  export default Provider;
}
