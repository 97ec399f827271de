import WebSocket from 'ws';

/** A real `ws` client that keeps every frame it receives, parsed, for assertions. */
export class WsClient {
  readonly frames: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;
  private constructor(readonly socket: WebSocket) {
    // ws hands a text message over as one Buffer (binaryType 'nodebuffer', the default).
    socket.on('message', (data) => this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>));
    socket.on('close', (code) => (this.closeCode = code));
  }

  static async connect(url: string): Promise<WsClient> {
    const socket = new WebSocket(url.replace('//localhost:', '//127.0.0.1:'));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new WsClient(socket);
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** Waits for a frame that satisfies the predicate, searching what already arrived first. */
  async next(predicate: (f: Record<string, unknown>) => boolean, what: string, ms = 5000, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async closed(ms = 5000): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closeCode;
  }

  close(): void {
    this.socket.close();
  }
}

interface Parameter {
  name: string;
  valueCode?: string;
  valueString?: string;
  valueReference?: { reference: string };
  valueCanonical?: string;
  part?: Parameter[];
}

/** The notification type of a bundle, whatever its shape (R4 Parameters, R4B/R5 SubscriptionStatus). */
export function notificationType(frame: Record<string, unknown>): string | undefined {
  const status = (frame.entry as Array<{ resource?: { resourceType: string; type?: string; parameter?: Parameter[] } }> | undefined)?.[0]?.resource;
  if (!status) return undefined;
  if (status.resourceType === 'Parameters') return status.parameter?.find((p) => p.name === 'type')?.valueCode;
  return status.type;
}

/** The subscription a notification bundle is about (the id). */
export function notificationSubscription(frame: Record<string, unknown>): string | undefined {
  const status = (frame.entry as Array<{ resource?: { resourceType: string; subscription?: { reference: string }; parameter?: Parameter[] } }> | undefined)?.[0]?.resource;
  if (!status) return undefined;
  const ref = status.resourceType === 'Parameters' ? status.parameter?.find((p) => p.name === 'subscription')?.valueReference?.reference : status.subscription?.reference;
  return ref?.split('/').pop();
}

/** R4 status parameter helper. */
export function r4Param(frame: Record<string, unknown>, name: string): Parameter | undefined {
  const status = (frame.entry as Array<{ resource?: { parameter?: Parameter[] } }>)[0]!.resource!;
  return status.parameter?.find((p) => p.name === name);
}
