// Types of godispatch.js, the GoDispatch browser client (see README.md beside it).

/** A JSON frame from the server. */
export interface Frame<P = unknown> {
  event: string;
  target?: string;
  payload?: P;
  /** The server-verified sender; absent on frames from the server or its backend. */
  from?: string;
  /** The `id` of the message this frame answers. */
  ref?: string | number;
  /** Position in the room's stream (rooms with history). */
  offset?: number;
  /** The stream's incarnation (rooms with history). */
  epoch?: string;
}

export interface ConnectOptions {
  /** A JWT used for every connection; without getToken nothing refreshes it (the server closes with 4003 at `exp`). */
  token?: string;
  /** Called before every (re)connect and, while connected, before the token's `exp` (then sent as `auth.refresh`). */
  getToken?: () => Promise<string> | string;
  /** Backoff base in ms (default 500): the n-th retry waits a random time in [0, min(max, base·2^n)). */
  minReconnectDelay?: number;
  /** Backoff cap in ms (default 20000). */
  maxReconnectDelay?: number;
  /** A connection that lasted this many ms (default 5000) starts the backoff over. */
  stableAfter?: number;
  /** Refresh this many ms before `exp` (default 60000; at most a quarter of the token's remaining life). */
  refreshMargin?: number;
  /** Default timeout of request(), join() and who() in ms (default 10000). */
  requestTimeout?: number;
  /** Messages kept while not connected (default 1000); more throw `queue_full`. */
  maxQueued?: number;
  /** The event join() sends (default "room.join"); its `_join` step takes `since: "{{payload.since}}"`. */
  joinEvent?: string;
  /** The event leave() sends (default "room.leave"). */
  leaveEvent?: string;
  /** The event who() sends (default "room.who"), answered by `_presence_state`. */
  whoEvent?: string;
  /** Replaces the close-code table: whether to reconnect after the server closed with `code`. */
  shouldReconnect?: (code: number, reason: string) => boolean;
  /** The WebSocket constructor (default: the global one). */
  WebSocket?: typeof WebSocket;
}

/** Codes: a server error code (`forbidden`, `unknown_event`, …), `timeout`, `disconnected` or `queue_full`. */
export class GoDispatchError extends Error {
  constructor(code: string, message: string, frame?: Frame);
  code: string;
  /** The server's error frame, when there is one. */
  frame?: Frame<{ code: string; message: string; ref?: string | number; pointer?: string }>;
}

export interface Member {
  /** The user's connections in the room (from `_presence_state` / `_joined`; diffs do not say). */
  connections?: number;
  /** The room rule's `presence_info` for the user. */
  info?: unknown;
}

export interface JoinedInfo {
  room: string;
  recovered: boolean;
  offset: number;
  epoch: string;
  /** How many missed frames were recovered (and dispatched before this event). */
  publications: number;
  /** The position the join asked to recover from; null on a first join. */
  since: { offset: number; epoch: string } | null;
}

export interface ClientEvents {
  connecting: { attempt: number };
  connected: { reconnect: boolean };
  /** `code` 0: no connection was made (getToken or the WebSocket constructor threw). */
  disconnected: { code: number; reason: string; reconnect: boolean; delay?: number; byClient?: boolean };
  joined: JoinedInfo;
  /** A re-join could not recover what was missed: refetch it (from your backend or `room.history`). */
  recovery_failed: JoinedInfo;
  /** A join or re-join was refused (`forbidden`, `room_full`, …); the room is forgotten. */
  join_failed: { room: string; error: GoDispatchError };
  presence: {
    room: string;
    members: Map<string, Member>;
    joins: Record<string, Member>;
    leaves: Record<string, Member>;
  };
  refreshed: { expiresAt?: number };
  refresh_failed: { error: unknown };
}

export type State = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export class GoDispatchClient {
  constructor(url: string, options: ConnectOptions);
  readonly url: string;
  readonly state: State;

  on<K extends keyof ClientEvents>(event: K, handler: (info: ClientEvents[K]) => void): () => void;
  /** Server `error` frames that answer no request(). */
  on(event: 'error', handler: (payload: { code: string; message: string }, frame: Frame) => void): () => void;
  /** Every frame. */
  on(event: '*', handler: (frame: Frame) => void): () => void;
  /** Frames of one event (e.g. "chat.message"). */
  on<P = any>(event: string, handler: (payload: P, frame: Frame<P>) => void): () => void;
  off(event: string, handler: Function): void;

  open(): void;
  close(code?: number, reason?: string): void;

  send(event: string, target?: string | null, payload?: unknown): void;
  request<P = any>(
    event: string, target?: string | null, payload?: unknown, options?: { timeout?: number },
  ): Promise<Frame<P>>;

  join(room: string, payload?: object, options?: { timeout?: number }): Promise<object | null>;
  leave(room: string): void;
  rooms(): string[];
  position(room: string): { offset: number; epoch: string } | null;

  presence(room: string): Map<string, Member>;
  who(room: string, options?: { timeout?: number }): Promise<Map<string, Member>>;
}

/** Opens a client; it starts connecting once the calling code has run. */
export function connect(url: string, options: ConnectOptions): GoDispatchClient;

/** Whether the client reconnects after the server closed with `code` (no after 1008 and 4000–4999). */
export function shouldReconnect(code: number): boolean;

/** The `exp` claim (unix seconds) of a JWT, or null; the signature is not checked. */
export function tokenExpiry(token: string): number | null;
