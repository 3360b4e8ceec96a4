/** Stripe-style invoice number: series prefix + sequence padded to four digits ("RECUR-0001"). */
export function formatInvoiceNumber(prefix: string, sequence: number): string {
  if (!/^[A-Z0-9]{3,12}$/.test(prefix)) throw new RangeError(`Invoice prefix must be 3–12 upper-case letters or digits, got "${prefix}"`);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`Invoice sequence must be a positive integer, got ${sequence}`);
  return `${prefix}-${String(sequence).padStart(4, '0')}`;
}
