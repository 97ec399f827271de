// Messages between the orchestrator and its client processes (Node IPC). Plain JSON data only.
import type { Counts } from './histogram.js';

export interface Binding {
  subscription: string;
  token: string;
  /** The patient the subscription follows: every write to it must reach this socket, no other may. */
  patient: string;
}

/** [seq, patient id] of a write the server acknowledged. */
export type Write = [number, string];

export type ToClient =
  | { op: 'bind'; id: number; target: string; wsUrl: string; bindings: Binding[] }
  | { op: 'start'; id: number; target: string; run: string; windowEnd: number }
  | { op: 'progress'; id: number }
  | { op: 'collect'; id: number; writes: Write[] }
  | { op: 'close'; id: number };

export interface ClientStats {
  /** Notifications of this run that passed every check. */
  received: number;
  /** Of those, arrived before the write window closed. */
  inWindow: number;
  latency: Counts;
  /** A write delivered twice to one socket, or an event number repeated. */
  duplicates: number;
  /** Expected on a socket and never delivered. */
  missing: number;
  /** A frame on a socket whose subscription or patient it is not about, or of a write that failed. */
  misrouted: number;
  /** The resource is not exactly what was written, or the frame is malformed. */
  bad: number;
  /** Event numbers skipped on a socket. */
  gaps: number;
  /** Frames of an earlier run (a backlog that outlived its run). */
  stale: number;
  /** Delivered writes whose PUT the writer never saw succeed (timed out, yet stored). */
  unacknowledged: number;
  /** Sockets the server closed during the run. */
  closed: number;
  errors: string[];
}

export type FromClient =
  | { op: 'bound'; id: number; count: number; errors: string[] }
  | { op: 'started'; id: number }
  | { op: 'progress'; id: number; received: number }
  | { op: 'collected'; id: number; stats: ClientStats }
  | { op: 'closed'; id: number };
