/**
 * --to as Unix seconds or ISO 8601. A date-time without a zone is UTC (as a date alone already is in
 * JavaScript), not the machine's local time: the same command means the same instant everywhere.
 */
export function parseCliTime(text: string): Date {
  if (/^\d+$/.test(text)) return new Date(Number(text) * 1000);
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim());
  const dateTime = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text.trim());
  return new Date(dateTime && !zoned ? `${text.trim().replace(' ', 'T')}Z` : text);
}
