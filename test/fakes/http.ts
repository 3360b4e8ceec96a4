import http from 'node:http';
import type { AddressInfo } from 'node:net';

// What the local gateway servers (fake Stripe, fake PayPal) share: a recorded request log and fault
// injection — a 5xx, a connection reset, or a response held back after the work is done (the
// "timeout, but it went through" case).

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

export type Fault =
  /** Answer with this status and body instead of doing the work. */
  | { kind: 'status'; status: number; body: unknown; headers?: Record<string, string> }
  /** Destroy the socket without answering, before doing the work. */
  | { kind: 'reset' }
  /** Do the work, then hold the answer for `delayMs` (longer than the client's timeout). */
  | { kind: 'delay_after_work'; delayMs: number };

interface FaultRule {
  match: (r: RecordedRequest) => boolean;
  fault: Fault;
  times: number;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export abstract class FakeServer {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: FaultRule[] = [];
  private server: http.Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();
  port = 0;

  protected abstract parseBody(raw: string, headers: http.IncomingHttpHeaders): unknown;
  protected abstract handle(r: RecordedRequest): Reply | Promise<Reply>;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `times` requests matching `match` get `fault`. */
  inject(match: (r: RecordedRequest) => boolean, fault: Fault, times = 1): void {
    this.faults.push({ match, fault, times });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Requests to `path` (exact, or a regular expression) with `method`. */
  calls(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.dispatch(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    let body: unknown;
    try {
      body = this.parseBody(raw, req.headers);
    } catch {
      body = raw;
    }
    const r: RecordedRequest = { method: req.method ?? 'GET', path, query, headers: req.headers, raw, body };
    this.requests.push(r);
    const rule = this.faults.find((f) => f.times > 0 && f.match(r));
    if (rule) rule.times--;
    const fault = rule?.fault;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      this.send(res, { status: fault.status, body: fault.body, headers: fault.headers });
      return;
    }
    let reply: Reply;
    try {
      reply = await this.handle(r);
    } catch (err) {
      reply = { status: 500, body: { error: { type: 'api_error', message: (err as Error).message } } };
    }
    if (fault?.kind === 'delay_after_work') {
      // The work is done and recorded; the answer comes too late for the client, which gives up.
      setTimeout(() => {
        if (!res.destroyed) this.send(res, reply);
      }, fault.delayMs).unref();
      return;
    }
    this.send(res, reply);
  }

  private send(res: http.ServerResponse, reply: Reply): void {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(reply.headers ?? {}) });
    res.end(text);
  }
}

/** A local port nothing listens on: requests to it are refused (a gateway that is down). */
export async function closedPort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
