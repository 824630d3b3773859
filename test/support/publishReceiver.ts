import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The report pipeline's publish endpoint (`SPINE_PUBLISH_URL`) for tests: applies each
 * idempotency key once, like a real idempotent API (a repeat answers `duplicate: true` with the
 * first location), and counts every call, so a test can tell a re-sent key from a second effect.
 */
export class PublishReceiver {
  /** Calls per idempotency key, repeats included. */
  readonly received = new Map<string, number>();
  /** Keys applied, each with the location its first call got. */
  readonly applied = new Map<string, string>();
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        this.received.set(key, (this.received.get(key) ?? 0) + 1);
        const duplicate = this.applied.has(key);
        if (!duplicate) this.applied.set(key, `report/${this.applied.size + 1}`);
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ location: this.applied.get(key), duplicate })), 20);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/publish`;
  }

  reset(): void {
    this.received.clear();
    this.applied.clear();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
