import { createServer, type Server } from 'node:http';

// A local server compatible with OpenAI's Chat Completions endpoint (POST /v1/chat/completions).
// `reply` decides the assistant's answer from the request's last message; `delayMs` simulates a
// slow model (the personaliser must give up after its timeout).

export interface FakeOpenAi {
  baseUrl: string;
  requests: { model: string; messages: { role: string; content: string }[] }[];
  reply: (userMessage: string) => string;
  delayMs: number;
  close(): Promise<void>;
}

export async function startFakeOpenAi(reply: (userMessage: string) => string): Promise<FakeOpenAi> {
  const fake: FakeOpenAi = { baseUrl: '', requests: [], reply, delayMs: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || req.headers.authorization !== 'Bearer sk-test-openai') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      fake.requests.push(payload);
      const last = payload.messages[payload.messages.length - 1]?.content ?? '';
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `chatcmpl-${fake.requests.length}`,
            object: 'chat.completion',
            created: 0,
            model: payload.model,
            choices: [{ index: 0, message: { role: 'assistant', content: fake.reply(last) }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
      };
      if (fake.delayMs > 0) setTimeout(answer, fake.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
