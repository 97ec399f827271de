import { outcome, type IssueCode, type OperationOutcome } from './operation-outcome.js';

/**
 * Why a Subscription a client sent is refused. 400: it is not a well-formed Subscription of the
 * server's FHIR version; 422: it is well formed, but asks for something the gateway will not do.
 * The message says what is wrong, `expression` where (FHIRPath-like).
 */
export class SubscriptionInvalid extends Error {
  override readonly name = 'SubscriptionInvalid';
  readonly status: 400 | 422;
  readonly code: IssueCode;
  readonly expression: string[];

  constructor(status: 400 | 422, code: IssueCode, message: string, expression: string | string[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.expression = typeof expression === 'string' ? [expression] : expression;
  }

  toOutcome(): OperationOutcome {
    return outcome(this.code, this.message, { expression: this.expression });
  }
}

/** A JSON shape problem: the wrong JSON type, a duplicate, an unreadable value. */
export function structure(where: string, message: string): SubscriptionInvalid {
  return new SubscriptionInvalid(400, 'structure', message, where);
}

export function required(where: string, message: string): SubscriptionInvalid {
  return new SubscriptionInvalid(400, 'required', message, where);
}

/** A value that is malformed for its FHIR type. */
export function badValue(where: string, message: string): SubscriptionInvalid {
  return new SubscriptionInvalid(400, 'value', message, where);
}

/** Well formed, but the gateway will not do it. */
export function refused(code: IssueCode, where: string, message: string): SubscriptionInvalid {
  return new SubscriptionInvalid(422, code, message, where);
}
