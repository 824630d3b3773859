import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local effect server for the crash suites (`SPINE_TEST_EFFECT_URL`): applies each
 * idempotency key once, like a payment API (a repeated key gets the first result), and counts
 * every raw call, so a test can tell a re-run under the same key from a second effect.
 */
export class EffectServer {
  /** Calls per idempotency key, repeats included. */
  readonly raw = new Map<string, number>();
  /** Keys whose effect was applied; a re-execution under a new key would show up as one more. */
  readonly applied = new Map<string, number>();
  server!: Server;
  url = '';

  /** `delayMs`: how long the answer to a step's call takes. */
  constructor(private readonly delayMs: (step: number) => number = () => 15) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        this.raw.set(key, (this.raw.get(key) ?? 0) + 1);
        const { step } = JSON.parse(body) as { step: number };
        setTimeout(() => {
          if (!this.applied.has(key)) this.applied.set(key, 1);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: step * 7 + 1 }));
        }, this.delayMs(step));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/effect`;
  }

  reset(): void {
    this.raw.clear();
    this.applied.clear();
  }
}
