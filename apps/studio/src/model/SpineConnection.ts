import type { Command, ErrorJson, ServerMessage } from '@spine/server/protocol';

/** A command refused by the server, with the fields its schema named. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly code: string;
  readonly issues: ErrorJson['issues'];
  constructor(error: ErrorJson) {
    super(error.message);
    this.code = error.code;
    this.issues = error.issues;
  }
}

/** Connection state shown in the header. */
export type ConnectionStatus = 'connecting' | 'open' | 'closed';

type CommandBody = Command extends infer C ? (C extends { id: string } ? Omit<C, 'id'> : never) : never;

/**
 * The studio's one WebSocket: sends commands and resolves their replies, hands
 * every other message to `onMessage`, and reconnects with back-off (the owner
 * resubscribes on `onStatus('open')`).
 */
export class SpineConnection {
  #ws: WebSocket | undefined;
  #next = 0;
  #pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #retryMs = 250;
  #closed = false;

  constructor(
    readonly url: string,
    readonly handlers: { onMessage: (message: ServerMessage) => void; onStatus: (status: ConnectionStatus) => void },
  ) {
    this.#open();
  }

  /** Sends a command; resolves with its result or rejects with a CommandError. */
  request<T = unknown>(command: CommandBody): Promise<T> {
    const id = `c${++this.#next}`;
    return new Promise<T>((resolve, reject) => {
      if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN) {
        reject(new CommandError({ code: 'disconnected', message: 'Not connected to the Spine server; retrying…' }));
        return;
      }
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ ...command, id }));
    });
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close();
  }

  #open(): void {
    this.handlers.onStatus('connecting');
    const ws = new WebSocket(this.url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#retryMs = 250;
      this.handlers.onStatus('open');
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as ServerMessage;
      if (message.type === 'reply') {
        const pending = message.id ? this.#pending.get(message.id) : undefined;
        if (pending) {
          this.#pending.delete(message.id!);
          if (message.ok) pending.resolve(message.result);
          else pending.reject(new CommandError(message.error));
          return;
        }
      }
      this.handlers.onMessage(message);
    };
    ws.onclose = () => {
      for (const pending of this.#pending.values()) pending.reject(new CommandError({ code: 'disconnected', message: 'The connection to the Spine server closed.' }));
      this.#pending.clear();
      this.handlers.onStatus('closed');
      if (this.#closed) return;
      setTimeout(() => this.#open(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 5000);
    };
  }
}
