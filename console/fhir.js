// The page's only way out: FHIR calls on this page's own origin (the gateway), with the user's
// bearer token when one is set. The token lives in this module's memory and nowhere else.

export class FhirError extends Error {
  constructor(status, body, text) {
    super(describe(status, body, text));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body, text) {
  const issues = body?.resourceType === 'OperationOutcome' ? (body.issue ?? []).map((i) => i.diagnostics ?? i.details?.text ?? i.code).filter(Boolean) : [];
  return `${status}: ${issues.length > 0 ? issues.join('; ') : (text || 'no body').slice(0, 300)}`;
}

export function createApi(basePath) {
  let bearer = '';
  const base = basePath.replace(/\/+$/, '');
  return {
    setBearer(value) {
      bearer = value.trim().replace(/^bearer\s+/i, '');
    },
    hasBearer: () => bearer !== '',
    /** `path` is relative to the FHIR base, e.g. `Subscription/1/$status`. */
    async call(method, path, body) {
      const headers = { accept: 'application/fhir+json' };
      if (body !== undefined) headers['content-type'] = 'application/fhir+json';
      if (bearer !== '') headers.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${base}/${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
      });
      const text = await res.text();
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (!res.ok) throw new FhirError(res.status, json, text);
      return json;
    },
  };
}
