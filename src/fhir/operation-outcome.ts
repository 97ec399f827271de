/** The OperationOutcome every FHIR caller gets for an error the gateway raises itself. */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

// A subset of http://hl7.org/fhir/issue-type: the codes the gateway actually raises.
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'processing'
  | 'not-supported'
  | 'not-found'
  | 'too-costly'
  | 'exception'
  | 'timeout'
  | 'transient'
  | 'incomplete'
  | 'throttled'
  | 'expired';

export interface OperationOutcomeIssue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics?: string;
  /** A machine-readable reason a client can act on. */
  details?: { coding: Array<{ system: string; code: string; display?: string }>; text?: string };
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OperationOutcomeIssue[];
}

export function outcome(code: IssueCode, diagnostics: string, opts: { severity?: IssueSeverity; expression?: string[]; details?: OperationOutcomeIssue['details'] } = {}): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity: opts.severity ?? 'error', code, diagnostics };
  if (opts.details) issue.details = opts.details;
  if (opts.expression?.length) issue.expression = opts.expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
