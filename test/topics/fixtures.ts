// Topic fixtures in every form the gateway reads, built from protocol.md sections 5.1-5.3.
import type { Logger } from '../../src/log.js';

export const ENCOUNTER_COMPLETE = 'http://example.org/fhir/SubscriptionTopic/encounter-complete';
export const FHIRPATH = "(%previous.id.empty() or (%previous.status != 'finished')) and (%current.status = 'finished')";

export function r5Topic(): Record<string, unknown> {
  return {
    resourceType: 'SubscriptionTopic',
    id: 'encounter-complete',
    url: ENCOUNTER_COMPLETE,
    version: '1.2.0',
    name: 'EncounterComplete',
    title: 'Encounter complete',
    status: 'active',
    date: '2024-03-01',
    description: 'An Encounter is finished.',
    derivedFrom: ['http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete|1.0.0'],
    resourceTrigger: [
      {
        description: 'Triggered when an encounter is completed.',
        resource: 'http://hl7.org/fhir/StructureDefinition/Encounter',
        supportedInteraction: ['create', 'update'],
        queryCriteria: { previous: 'status:not=finished', resultForCreate: 'test-passes', current: 'status=finished', resultForDelete: 'test-fails', requireBoth: true },
        fhirPathCriteria: FHIRPATH,
      },
    ],
    canFilterBy: [
      { description: 'Filter on the patient.', resource: 'Encounter', filterParameter: 'patient', filterDefinition: 'http://hl7.org/fhir/SearchParameter/clinical-patient' },
      { description: 'Filter on the length.', resource: 'Encounter', filterParameter: 'length', comparator: ['gt', 'lt', 'ge', 'le'] },
      { resource: 'Encounter', filterParameter: 'class', modifier: ['not', 'in'] },
    ],
    notificationShape: [{ resource: 'Encounter', include: ['Encounter:patient&iterate=Patient.link', 'Encounter:location'], revInclude: ['Encounter:subject'] }],
  };
}

/** The same topic as an R4B server stores it: no name, comparators among the modifiers, `=` meaning none. */
export function r4bTopic(): Record<string, unknown> {
  const t = r5Topic();
  delete t.name;
  t.canFilterBy = [
    { description: 'Filter on the patient.', resource: 'Encounter', filterParameter: 'patient', filterDefinition: 'http://hl7.org/fhir/SearchParameter/clinical-patient', modifier: ['='] },
    { description: 'Filter on the length.', resource: 'Encounter', filterParameter: 'length', modifier: ['=', 'gt', 'lt', 'ge', 'le'] },
    { resource: 'Encounter', filterParameter: 'class', modifier: ['in'] },
  ];
  return t;
}

interface Ext {
  url: string;
  extension?: Ext[];
  [value: `value${string}`]: unknown;
}

const v = (url: string, key: string, value: unknown): Ext => ({ url, [`value${key}`]: value });

const X50 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.';
const X43 = 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.';

interface BasicForm {
  /** Prefix of resourceTrigger/canFilterBy/notificationShape. */
  complex: string;
  /** The newest IG source: artifact-url/-status, bare queries, comparators listed as modifiers. */
  artifact: boolean;
}

export function basicTopic(form: BasicForm): Record<string, unknown> {
  const c = form.complex;
  const extension: Ext[] = [
    form.artifact ? v('http://hl7.org/fhir/StructureDefinition/artifact-url', 'Uri', ENCOUNTER_COMPLETE) : v(X50 + 'url', 'Uri', ENCOUNTER_COMPLETE),
    v(X50 + 'version', 'String', '1.2.0'),
    v(X50 + 'name', 'String', 'EncounterComplete'),
    v(X50 + 'title', 'String', 'Encounter complete'),
    v(X50 + 'date', 'DateTime', '2024-03-01'),
    v(X50 + 'description', 'Markdown', 'An Encounter is finished.'),
    v(X50 + 'derivedFrom', 'Canonical', 'http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete|1.0.0'),
    {
      url: c + 'resourceTrigger',
      extension: [
        v('description', 'Markdown', 'Triggered when an encounter is completed.'),
        v('resource', 'Uri', 'http://hl7.org/fhir/StructureDefinition/Encounter'),
        v('supportedInteraction', 'Code', 'create'),
        v('supportedInteraction', 'Code', 'update'),
        {
          url: 'queryCriteria',
          extension: [
            v('previous', 'String', form.artifact ? 'status:not=finished' : 'Encounter?status:not=finished'),
            v('resultForCreate', 'Code', 'test-passes'),
            v('current', 'String', form.artifact ? 'status=finished' : 'Encounter?status=finished'),
            v('resultForDelete', 'Code', 'test-fails'),
            v('requireBoth', 'Boolean', true),
          ],
        },
        v('fhirPathCriteria', 'String', FHIRPATH),
      ],
    },
    {
      url: c + 'canFilterBy',
      extension: [
        v('description', 'Markdown', 'Filter on the patient.'),
        v('resource', 'Uri', 'Encounter'),
        v('filterParameter', 'String', 'patient'),
        v('filterDefinition', 'Uri', 'http://hl7.org/fhir/SearchParameter/clinical-patient'),
      ],
    },
    {
      url: c + 'canFilterBy',
      extension: [
        v('description', 'Markdown', 'Filter on the length.'),
        v('resource', 'Uri', 'Encounter'),
        v('filterParameter', 'String', 'length'),
        ...['gt', 'lt', 'ge', 'le'].map((code) => v(form.artifact ? 'modifier' : 'comparator', 'Code', code)),
      ],
    },
    {
      url: c + 'canFilterBy',
      extension: [v('resource', 'Uri', 'Encounter'), v('filterParameter', 'String', 'class'), v('modifier', 'Code', 'not'), v('modifier', 'Code', 'in')],
    },
    {
      url: c + 'notificationShape',
      extension: [
        v('resource', 'Uri', 'Encounter'),
        v('include', 'String', 'Encounter:patient&iterate=Patient.link'),
        v('include', 'String', 'Encounter:location'),
        v('revInclude', 'String', 'Encounter:subject'),
        {
          url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-related-query',
          extension: [v('query', 'String', 'http://example.org/fhir/Encounter/[id]/$prescribed-medications')],
        },
      ],
    },
  ];
  return {
    resourceType: 'Basic',
    id: 'encounter-complete',
    meta: { profile: ['http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic'] },
    extension,
    modifierExtension: [form.artifact ? v('http://hl7.org/fhir/StructureDefinition/artifact-status', 'Code', 'active') : v(X50 + 'status', 'Code', 'active')],
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
  };
}

export const BASIC_FORMS = {
  'Basic, 5.0 prefix (fhir-candle)': { complex: X50, artifact: false },
  'Basic, 4.3 prefix for the complex parts (1.2.0-ballot)': { complex: X43, artifact: false },
  'Basic, artifact-url/artifact-status, bare queries, comparators as modifiers (newest IG)': { complex: X50, artifact: true },
} satisfies Record<string, BasicForm>;

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps what it is told, for asserting that a skip was reported and why. */
export function recorder() {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (fields: unknown, msg?: unknown): void => {
      lines.push({ level, fields: typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : {}, msg: String(msg ?? fields) });
    };
  const logger: Pick<Logger, 'warn' | 'info' | 'error'> = { warn: at('warn'), info: at('info'), error: at('error') };
  return { lines, logger };
}
