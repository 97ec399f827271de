export { EventLog, type EventLogOptions, type LogInput, type LogPage, type Position, type Retention } from './event-log.js';
export type { EventRecord, LoggedEvent } from './entry.js';
export type { Epoch } from './epoch.js';
