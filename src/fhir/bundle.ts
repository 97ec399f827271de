// The Bundle shapes the gateway writes itself ($status, $events, notifications). Only the elements it
// emits are typed; resources inside stay whatever their builders made them.

export type BundleType = 'searchset' | 'history' | 'subscription-notification';
export type HttpVerb = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface ResourceLike {
  resourceType: string;
  id?: string;
}

export interface BundleLink {
  relation: string;
  url: string;
}

export interface BundleEntry<R extends ResourceLike = ResourceLike> {
  fullUrl?: string;
  resource?: R;
  search?: { mode: 'match' | 'include' | 'outcome' };
  request?: { method: HttpVerb; url: string };
  response?: { status: string };
}

export interface Bundle<R extends ResourceLike = ResourceLike> {
  resourceType: 'Bundle';
  id?: string;
  meta?: { profile?: string[] };
  type: BundleType;
  timestamp?: string;
  total?: number;
  link?: BundleLink[];
  entry?: BundleEntry<R>[];
}

/** The fullUrl of a resource that has no RESTful location, such as a status built for one answer. */
export function urnUuid(id: string): string {
  return `urn:uuid:${id}`;
}

/** A searchset answer: every resource a match, in the order given. */
export function searchsetBundle<R extends ResourceLike>(matches: Array<{ fullUrl: string; resource: R }>, selfUrl: string): Bundle<R> {
  const bundle: Bundle<R> = { resourceType: 'Bundle', type: 'searchset', total: matches.length, link: [{ relation: 'self', url: selfUrl }] };
  // FHIR JSON forbids empty arrays, so no matches means no entry element at all.
  if (matches.length) bundle.entry = matches.map(({ fullUrl, resource }) => ({ fullUrl, resource, search: { mode: 'match' } }));
  return bundle;
}
