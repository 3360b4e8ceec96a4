import { createServer, type IncomingMessage, type Server } from 'node:http';

// A local HTTP server speaking Twilio's wire format for Messages: POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To/From/Body, HTTP basic auth with
// the account SID and auth token; 201 with the message resource, or Twilio's error body.

export interface TwilioSent {
  sid: string;
  to: string;
  from: string;
  body: string;
}

export interface FakeTwilio {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  messages: TwilioSent[];
  /** Answers the next `n` requests with 503 (a transient failure). */
  failNext(n: number): void;
  requests: number;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = 'AC' + '0'.repeat(31) + '1';
  const authToken = 'test-auth-token';
  const state = { failures: 0, requests: 0 };
  const messages: TwilioSent[] = [];
  const server: Server = createServer(async (req, res) => {
    state.requests++;
    const json = (status: number, payload: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const raw = await body(req);
    const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
    if (auth !== `${accountSid}:${authToken}`) return json(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m || m[1] !== accountSid) return json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    if (state.failures > 0) {
      state.failures--;
      return json(503, { code: 20503, message: 'Service unavailable', status: 503 });
    }
    const form = new URLSearchParams(raw);
    const to = form.get('To') ?? '';
    if (!/^\+[1-9]\d{6,14}$/.test(to)) return json(400, { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 });
    const sid = `SM${String(messages.length + 1).padStart(32, '0')}`;
    messages.push({ sid, to, from: form.get('From') ?? '', body: form.get('Body') ?? '' });
    json(201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: form.get('Body'),
      date_created: new Date(0).toUTCString(),
      direction: 'outbound-api',
      from: form.get('From'),
      num_segments: '1',
      sid,
      status: 'queued',
      to,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    messages,
    failNext: (n) => (state.failures = n),
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
