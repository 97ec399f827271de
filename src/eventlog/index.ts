export { EventLog, type EventLogOptions, type LogInput, type LogPage, type Retention } from './event-log.js';
export type { Position } from './reads.js';
export type { EventRecord, LoggedEvent } from './entry.js';
export type { Epoch } from './epoch.js';
