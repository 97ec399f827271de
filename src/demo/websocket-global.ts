import { WebSocket } from 'undici';

// @medplum/core reads WebSocket.CLOSING at module load; Node 20 has no global WebSocket (Node 22 does),
// so importing core without this crashes. Must be imported before anything that loads @medplum/core.
const scope = globalThis as { WebSocket?: unknown };
scope.WebSocket ??= WebSocket;
