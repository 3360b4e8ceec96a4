import type OpenAI from 'openai';

// Optional rewriting of an email's text per customer through the official OpenAI SDK (any server
// speaking its API, through a base URL). Guardrails: the rewrite must keep every required string
// verbatim (the payment link, the amount, the template's required lines), add no link of its own,
// stay within a sane length, and arrive within the timeout; otherwise the plain template is used.

export interface PersonalizeInput {
  text: string;
  /** Strings that must survive verbatim. */
  required: string[];
  customerName: string | null;
  locale: string;
}

export type PersonalizeResult = { ok: true; text: string } | { ok: false; reason: string };

export interface Personalizer {
  personalize(input: PersonalizeInput): Promise<PersonalizeResult>;
}

const URL_RE = /https?:\/\/[^\s<>"')]+/g;

/** The guardrails, pure: returns why a rewrite is refused, or null when it may be used. */
export function checkRewrite(original: string, rewrite: string, required: string[]): string | null {
  const out = rewrite.trim();
  if (out.length === 0) return 'empty rewrite';
  if (out.length > Math.max(400, original.length * 2)) return 'rewrite too long';
  for (const r of required) if (r && !out.includes(r)) return `missing required text: ${r.slice(0, 60)}`;
  const allowed = new Set(original.match(URL_RE) ?? []);
  for (const u of out.match(URL_RE) ?? []) if (!allowed.has(u)) return `introduced a link not in the template: ${u.slice(0, 60)}`;
  return null;
}

export function createPersonalizer(opts: { apiKey: string; baseUrl?: string; model: string; timeoutMs?: number }): Personalizer {
  let client: OpenAI | null = null;
  const open = async () => {
    // Imported on first use: most processes never personalise anything.
    client ??= new (await import('openai')).default({ apiKey: opts.apiKey, baseURL: opts.baseUrl, timeout: opts.timeoutMs ?? 5000, maxRetries: 0 });
    return client;
  };
  return {
    async personalize(input) {
      try {
        const res = await (await open()).chat.completions.create({
          model: opts.model,
          temperature: 0.4,
          messages: [
            {
              role: 'system',
              content:
                'You rewrite billing emails so they read as written personally for one customer, warm and brief. ' +
                'Keep the language of the original. Do not invent facts, amounts, dates, discounts or links. ' +
                'Every line listed under REQUIRED must appear exactly as written. Answer with the email body only.',
            },
            {
              role: 'user',
              content: `CUSTOMER: ${input.customerName ?? 'unknown'}\nLOCALE: ${input.locale}\nREQUIRED:\n${input.required.map((r) => `- ${r}`).join('\n')}\n\nEMAIL:\n${input.text}`,
            },
          ],
        });
        const text = res.choices[0]?.message?.content ?? '';
        const refused = checkRewrite(input.text, text, input.required);
        return refused ? { ok: false, reason: refused } : { ok: true, text: text.trim() };
      } catch (err) {
        return { ok: false, reason: `personalisation failed: ${(err as Error).message}` };
      }
    },
  };
}
