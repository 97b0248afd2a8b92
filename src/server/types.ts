/** Shapes shared by the gateway, the guard and the function handlers. */
import type { Caller } from "../db/caller.ts";

/** What the guard hands a function once the request is authenticated. */
export interface RequestContext {
  /** The verified caller (database role + JWT claims). */
  caller: Caller;
  /** The public URL of this function (the protected resource). */
  resource: string;
}

/** A function's own logic, behind the guard: the body is already bounded and the caller known. */
export type FunctionHandler = (req: Request, ctx: RequestContext) => Promise<Response>;

/** A complete HTTP handler, as Deno.serve takes it. */
export type HttpHandler = (req: Request) => Promise<Response>;
