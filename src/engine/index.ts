// Choosing the engine: Redis when connection options are given, otherwise the in-process one.
import type { Logger } from '../log.js';
import type { Engine } from './engine.js';
import { MemoryEngine, type MemoryEngineOptions } from './memory.js';
import { RedisEngine, type RedisEngineOptions } from './redis.js';

export type * from './engine.js';
export type { MemoryEngineOptions } from './memory.js';
export type { RedisEngineOptions } from './redis.js';
export type { ClusterConnection, HostPort, RedisConnection, SentinelConnection } from './redis-connect.js';

export interface EngineOptions {
  /** Absent: a single process with the memory engine. */
  redis?: RedisEngineOptions | undefined;
  memory?: MemoryEngineOptions | undefined;
}

/** Builds the engine; the caller still awaits start(). */
export function createEngine(options: EngineOptions, logger: Logger): Engine {
  const log = logger.child({ component: 'engine' });
  return options.redis ? new RedisEngine(options.redis, log) : new MemoryEngine(log, options.memory);
}
