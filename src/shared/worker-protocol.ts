/**
 * The message shapes both sides of every worker use (squoosh/excalidraw model: main side, worker side, shared).
 *
 * A worker feature declares a command map `{ name: { req; res } }`; the client bridge and `expose()` are typed
 * by it so a renamed command or changed payload fails to compile on both sides.
 */
import type { SerializedKioskError } from './errors';

export type CommandMap = Record<string, { req: unknown; res: unknown }>;

export interface WorkerRequest<M extends CommandMap = CommandMap, K extends keyof M = keyof M> {
  id: number;
  cmd: K;
  payload: M[K]['req'];
}

export type WorkerReply<M extends CommandMap = CommandMap, K extends keyof M = keyof M> =
  | { id: number; ok: true; result: M[K]['res'] }
  | { id: number; ok: false; error: SerializedKioskError };

/** Results may name the buffers to transfer back instead of copying them. */
export interface Transferable_<T> {
  value: T;
  transfer: Transferable[];
}
