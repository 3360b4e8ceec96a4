import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type twilioNs from 'twilio';
import type { NotificationConfig } from '../../config.js';
import { createPersonalizer, type Personalizer } from './personalize.js';

// The SDKs are imported when first used: every CLI command and test app loads this module, and
// most of them never send a message.
//
// The channels messages leave through, injected like the payment gateways: SMTP (nodemailer) or the
// outbox for email, Twilio's SDK or the outbox for SMS. A transport either accepts a message
// (a provider id back), or throws a DeliveryError that says whether trying again can help.

export interface EmailMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  headers?: Record<string, string>;
}

export interface SmsMessage {
  id: string;
  to: string;
  body: string;
}

export interface Delivery {
  /** `sent`: a provider accepted it; `outbox`: kept for a person (no provider configured). */
  status: 'sent' | 'outbox';
  provider: string;
  providerId: string | null;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** true: a timeout, a 4xx SMTP reply, a 5xx/429 from the API — worth another try later. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface EmailTransport {
  readonly name: string;
  send(m: EmailMessage): Promise<Delivery>;
}

export interface SmsTransport {
  readonly name: string;
  send(m: SmsMessage): Promise<Delivery>;
}

export interface Notifier {
  email: EmailTransport;
  sms: SmsTransport;
  /** Optional rewriting of email bodies per customer (OpenAI); null when not configured. */
  personalizer: Personalizer | null;
  /** From-address and owner address, for the messages built around the transports. */
  from: string;
  ownerEmail: string | null;
}

/** Email through any SMTP server (SMTP_URL). */
export class SmtpEmailTransport implements EmailTransport {
  readonly name = 'smtp';
  private transporter: Transporter | null = null;

  constructor(
    private readonly url: string,
    private readonly from: string,
  ) {}

  private async client(): Promise<Transporter> {
    if (!this.transporter) {
      const nodemailer = (await import('nodemailer')).default;
      // The URL's settings first; the timeouts apply where it sets none (a stuck server must not hold a worker).
      this.transporter = nodemailer.createTransport({ url: this.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as Parameters<typeof nodemailer.createTransport>[0]);
    }
    return this.transporter;
  }

  async send(m: EmailMessage): Promise<Delivery> {
    try {
      const info = await (await this.client()).sendMail({
        from: this.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        ...(m.html ? { html: m.html } : {}),
        // A stable Message-ID: a retry after an unknown outcome can be recognised as the same mail.
        messageId: `<${m.id}@recur>`,
        headers: m.headers,
      });
      return { status: 'sent', provider: this.name, providerId: String(info.messageId ?? m.id) };
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; message: string };
      // 5xx replies are permanent (bad recipient, rejected); 4xx and connection problems are not.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      throw new DeliveryError(`SMTP: ${e.message}`, !permanent);
    }
  }

  close(): void {
    this.transporter?.close();
  }
}

/** The default without a provider: the message is kept (in the database, and as files when a folder is set). */
export class OutboxTransport implements EmailTransport, SmsTransport {
  constructor(
    readonly name: string,
    private readonly dir?: string,
  ) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  async send(m: EmailMessage | SmsMessage): Promise<Delivery> {
    if (this.dir) {
      const isEmail = 'subject' in m;
      const body = isEmail ? `To: ${m.to}\nSubject: ${m.subject}\nMessage-ID: <${m.id}@recur>\n\n${m.text}\n` : `To: ${m.to}\n\n${m.body}\n`;
      writeFileSync(join(this.dir, `${m.id}.${isEmail ? 'eml' : 'sms.txt'}`), body);
    }
    return { status: 'outbox', provider: this.name, providerId: null };
  }
}

/** Twilio's official SDK; `apiBaseUrl` replaces https://api.twilio.com (tests run a local server). */
export class TwilioSmsTransport implements SmsTransport {
  readonly name = 'twilio';
  private client: twilioNs.Twilio | null = null;

  constructor(private readonly opts: { accountSid: string; authToken: string; from: string; apiBaseUrl?: string }) {}

  private async twilio(): Promise<twilioNs.Twilio> {
    if (!this.client) {
      const twilio = (await import('twilio')).default;
      const base = this.opts.apiBaseUrl?.replace(/\/+$/, '');
      class RebasedClient extends twilio.RequestClient {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        override request<T>(o: any): Promise<any> {
          return super.request<T>(base ? { ...o, uri: String(o.uri).replace(/^https:\/\/api\.twilio\.com/, base) } : o);
        }
      }
      this.client = twilio(this.opts.accountSid, this.opts.authToken, { httpClient: new RebasedClient({ timeout: 10_000 }) });
    }
    return this.client;
  }

  async send(m: SmsMessage): Promise<Delivery> {
    try {
      const msg = await (await this.twilio()).messages.create({ to: m.to, from: this.opts.from, body: m.body });
      return { status: 'sent', provider: this.name, providerId: msg.sid };
    } catch (err) {
      const e = err as { status?: number; code?: number; message: string };
      // Twilio: 4xx (bad number, unverified, opted out) are permanent except 429; 5xx and network errors are transient.
      const status = typeof e.status === 'number' ? e.status : null;
      const transient = status === null || status === 429 || status >= 500;
      throw new DeliveryError(`Twilio${e.code ? ` ${e.code}` : ''}: ${e.message}`, transient);
    }
  }
}

/** The notifier a configuration describes: SMTP and Twilio when set, the outbox otherwise. */
export function notifierFromConfig(cfg: NotificationConfig, opts: { outboxDir?: string } = {}): Notifier {
  const dir = opts.outboxDir ?? cfg.outboxDir;
  const email: EmailTransport = cfg.smtpUrl ? new SmtpEmailTransport(cfg.smtpUrl, cfg.emailFrom) : new OutboxTransport('outbox', dir ? join(dir, 'email') : undefined);
  const sms: SmsTransport =
    cfg.twilioAccountSid && cfg.twilioAuthToken && cfg.twilioFrom
      ? new TwilioSmsTransport({ accountSid: cfg.twilioAccountSid, authToken: cfg.twilioAuthToken, from: cfg.twilioFrom, apiBaseUrl: cfg.twilioApiBaseUrl })
      : new OutboxTransport('outbox', dir ? join(dir, 'sms') : undefined);
  const personalizer = cfg.openaiApiKey ? createPersonalizer({ apiKey: cfg.openaiApiKey, baseUrl: cfg.openaiBaseUrl, model: cfg.openaiModel }) : null;
  return { email, sms, personalizer, from: cfg.emailFrom, ownerEmail: cfg.ownerEmail ?? null };
}

const cache = new WeakMap<NotificationConfig, Notifier>();

/** One notifier per configuration object, for callers that were not handed one (CLI, old callers). */
export function defaultNotifier(cfg: NotificationConfig): Notifier {
  let n = cache.get(cfg);
  if (!n) {
    n = notifierFromConfig(cfg);
    cache.set(cfg, n);
  }
  return n;
}
