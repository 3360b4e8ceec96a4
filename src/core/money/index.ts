export * from './money.js';
export * from './currency.js';
