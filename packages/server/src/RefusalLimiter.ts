import { ServerError } from './ServerError.js';

/** How many refused commands one connection may send: a burst, then a steady rate. */
export interface RefusalLimit {
  /** Refusals allowed at once (default 100). */
  burst: number;
  /** Refusals regained per second (default 10). */
  perSecond: number;
}

/** The limit used when a server is given none. */
export const DEFAULT_REFUSAL_LIMIT: Readonly<RefusalLimit> = Object.freeze({ burst: 100, perSecond: 10 });

/**
 * A token bucket of refusals for one connection (a WebSocket, or an HTTP
 * keep-alive socket). Each refused command takes a token; with none left, the
 * connection's commands are refused with `rate_limited` before they are parsed,
 * validated or dead-lettered, until tokens come back. Accepted commands cost
 * nothing, so a studio that makes mistakes now and then is never slowed.
 */
export class RefusalLimiter {
  readonly #limit: RefusalLimit;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(limit: Partial<RefusalLimit> = {}, now: () => number = Date.now) {
    this.#limit = { ...DEFAULT_REFUSAL_LIMIT, ...limit };
    this.#now = now;
    this.#tokens = this.#limit.burst;
    this.#at = now();
  }

  /** @throws ServerError `rate_limited` when this connection has used up its refusals. */
  check(): void {
    this.#refill();
    if (this.#tokens < 1) {
      const waitS = Math.ceil((1 - this.#tokens) / this.#limit.perSecond);
      throw new ServerError('rate_limited', `Too many refused commands on this connection (more than ${this.#limit.burst} at once, ${this.#limit.perSecond}/s after that); nothing was done. Try again in ${waitS} s.`);
    }
  }

  /** Counts one refused command. */
  refused(): void {
    this.#refill();
    this.#tokens = Math.max(-this.#limit.burst, this.#tokens - 1);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.#limit.perSecond);
    this.#at = now;
  }
}

const bySocket = new WeakMap<object, RefusalLimiter>();

/** The limiter of a connection (one per socket object), made on first use. */
export function limiterOf(socket: object, limit: Partial<RefusalLimit> | undefined): RefusalLimiter {
  let limiter = bySocket.get(socket);
  if (!limiter) bySocket.set(socket, (limiter = new RefusalLimiter(limit)));
  return limiter;
}
