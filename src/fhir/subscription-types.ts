// The JSON of the Subscription elements the gateway reads, in each FHIR version, narrowed from
// `unknown` by subscription-read.ts. Elements the gateway does not read are not declared: they are
// forwarded upstream untouched and never looked at.

export interface JsonObject {
  readonly [key: string]: unknown;
}

/** A JSON object whose resourceType is Subscription; nothing else about it is known yet. */
export interface SubscriptionObjectJson extends JsonObject {
  readonly resourceType: 'Subscription';
}

/** Only simple extensions are read: their nested `extension` is left unread, and unchecked. */
export interface ExtensionJson {
  readonly url: string;
  readonly [valueX: `value${string}`]: unknown;
}

/** The `_element` sibling that carries a primitive's extensions. */
export interface PrimitiveElementJson {
  readonly extension?: readonly ExtensionJson[];
}

export interface CodingJson {
  readonly system?: string;
  readonly code?: string;
}

interface SubscriptionJsonBase {
  readonly resourceType: 'Subscription';
  readonly id?: string;
  readonly status?: string;
  readonly end?: string;
  readonly modifierExtension?: readonly ExtensionJson[];
}

/** R4 and R4B: classic criteria, or the backport profile (topic canonical in `criteria`). */
export interface R4SubscriptionJson extends SubscriptionJsonBase {
  readonly criteria?: string;
  readonly _criteria?: PrimitiveElementJson;
  readonly channel?: R4ChannelJson;
}

export interface R4ChannelJson {
  readonly type?: string;
  readonly _type?: PrimitiveElementJson;
  readonly endpoint?: string;
  readonly payload?: string;
  readonly _payload?: PrimitiveElementJson;
  readonly extension?: readonly ExtensionJson[];
  readonly modifierExtension?: readonly ExtensionJson[];
}

export interface R5SubscriptionJson extends SubscriptionJsonBase {
  readonly topic?: string;
  readonly filterBy?: readonly R5FilterByJson[];
  readonly channelType?: CodingJson;
  readonly endpoint?: string;
  readonly heartbeatPeriod?: number;
  readonly timeout?: number;
  readonly maxCount?: number;
  readonly contentType?: string;
  readonly content?: string;
}

export interface R5FilterByJson {
  readonly resourceType?: string;
  readonly filterParameter?: string;
  readonly comparator?: string;
  readonly modifier?: string;
  readonly value?: string;
  readonly modifierExtension?: readonly ExtensionJson[];
}

/** Elements of one FHIR version that, sent to a server of another, show the client has the version wrong. */
export const R5_ONLY_ELEMENTS = ['topic', 'filterBy', 'channelType', 'content', 'contentType', 'heartbeatPeriod', 'timeout', 'maxCount'] as const;
export const R4_ONLY_ELEMENTS = ['criteria', '_criteria', 'channel'] as const;
