// Seller and payment details printed on invoices, credit notes and the hosted invoice page, from
// the environment. src/config.ts embeds them as `config.documents`; the README lists each variable.

export interface BankDetails {
  accountName: string | null;
  bankName: string | null;
  iban: string | null;
  bic: string | null;
  achRouting: string | null;
  achAccount: string | null;
}

export interface DocumentsConfig {
  sellerName: string;
  /** Address lines ("|" or a newline separates them in the variable). */
  sellerAddress: string[];
  sellerTaxId: string | null;
  sellerEmail: string | null;
  /** A PNG or JPEG file printed at the top of documents. */
  logoPath: string | null;
  bank: BankDetails;
  /** The hosted invoice link works until this many days after the due date (or finalisation). */
  hostedInvoiceTtlDays: number;
}

const text = (v: string | undefined) => (v && v.trim() ? v.trim() : null);

export function loadDocumentsConfig(env: NodeJS.ProcessEnv): DocumentsConfig {
  const ttl = env.RECUR_HOSTED_INVOICE_TTL_DAYS;
  const ttlDays = ttl === undefined || ttl === '' ? 90 : Number(ttl);
  if (!Number.isInteger(ttlDays) || ttlDays < 1) throw new Error(`RECUR_HOSTED_INVOICE_TTL_DAYS must be a positive integer, got '${ttl}'`);
  return {
    sellerName: text(env.RECUR_SELLER_NAME) ?? 'Recur',
    sellerAddress: (env.RECUR_SELLER_ADDRESS ?? '')
      .split(/\||\n/)
      .map((l) => l.trim())
      .filter(Boolean),
    sellerTaxId: text(env.RECUR_SELLER_TAX_ID),
    sellerEmail: text(env.RECUR_SELLER_EMAIL),
    logoPath: text(env.RECUR_SELLER_LOGO),
    bank: {
      accountName: text(env.RECUR_BANK_ACCOUNT_NAME),
      bankName: text(env.RECUR_BANK_NAME),
      iban: text(env.RECUR_BANK_IBAN),
      bic: text(env.RECUR_BANK_BIC),
      achRouting: text(env.RECUR_BANK_ACH_ROUTING),
      achAccount: text(env.RECUR_BANK_ACH_ACCOUNT),
    },
    hostedInvoiceTtlDays: ttlDays,
  };
}

export function hasBankDetails(b: BankDetails): boolean {
  return Boolean(b.iban || b.achAccount);
}
