// The MIME type a subscriber asks notifications in (R4 `channel.payload`, R5 `contentType`).
// Besides the format it chooses the notification shape: the backport IG lets an R4 or R4B server
// send either version's bundles, picked by a `fhirVersion` MIME parameter.
import type { FhirVersion } from '../config.js';

export type MimeParse = { ok: true; contentType: string; notificationVersion: FhirVersion } | { ok: false; reason: string };

const JSON_TYPES = ['application/fhir+json', 'application/json'];

const VERSIONS_BY_SERVER: Record<FhirVersion, Record<string, FhirVersion>> = {
  R4: { '4.0': 'R4', '4.3': 'R4B' },
  R4B: { '4.0': 'R4', '4.3': 'R4B' },
  R5: { '5.0': 'R5' },
};

/** Parameters other than `fhirVersion` (`charset=utf-8`, …) say nothing the gateway acts on and are ignored. */
export function parseNotificationMime(text: string, server: FhirVersion): MimeParse {
  const [base = '', ...parameters] = text.split(';');
  const contentType = base.trim().toLowerCase();
  if (!JSON_TYPES.includes(contentType)) {
    return { ok: false, reason: `notifications in '${base.trim()}' are not supported; supported: ${JSON_TYPES.join(', ')}` };
  }
  let notificationVersion: FhirVersion = server;
  let seen = false;
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    if (equals < 0) return { ok: false, reason: `MIME parameter '${parameter.trim()}' is not name=value` };
    if (parameter.slice(0, equals).trim().toLowerCase() !== 'fhirversion') continue;
    if (seen) return { ok: false, reason: 'the fhirVersion MIME parameter is given twice' };
    seen = true;
    const value = unquote(parameter.slice(equals + 1).trim());
    const offered = VERSIONS_BY_SERVER[server];
    // `4.0.1` names the same version as `4.0`; the parameter is defined on major.minor.
    const version = /^(\d+\.\d+)(?:\.\d+)?$/.exec(value)?.[1];
    const chosen = version === undefined ? undefined : offered[version];
    if (chosen === undefined) {
      return { ok: false, reason: `fhirVersion=${value} is not offered by this ${server} server; offered: ${Object.keys(offered).join(', ')}` };
    }
    notificationVersion = chosen;
  }
  return { ok: true, contentType, notificationVersion };
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
