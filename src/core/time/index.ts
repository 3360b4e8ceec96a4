export * from './clock.js';
export * from './calendar.js';
