// A Topic as the R4 Basic resource of the backport IG: artifact-url plus the 5.0 cross-version
// extensions, the one prefix every known reader (the IG's newest source and fhir-candle) accepts.
import { compact } from './json.js';
import type { Topic } from './topic.js';
import { ARTIFACT_URL, FHIR_TYPES, TOPIC_PROFILE, TOPIC_TYPE_CODE, XVER_R5 } from './xver.js';

export interface ExtensionJson {
  url: string;
  valueUri?: string;
  valueString?: string;
  valueCode?: string;
  valueMarkdown?: string;
  valueDateTime?: string;
  valueCanonical?: string;
  valueBoolean?: boolean;
  extension?: ExtensionJson[];
}

export interface BasicTopicJson {
  resourceType: 'Basic';
  id: string;
  meta: { profile: string[] };
  extension: ExtensionJson[];
  modifierExtension: ExtensionJson[];
  code: { coding: { system: string; code: string }[] };
}

type Value = Omit<ExtensionJson, 'url' | 'extension'>;

/** One extension per present value; none for an absent one. */
const ext = (url: string, value: Value | undefined): ExtensionJson[] => (value === undefined || Object.values(value).every((v) => v === undefined) ? [] : [{ url, ...compact(value) }]);
const complex = (url: string, children: ExtensionJson[]): ExtensionJson => ({ url, extension: children });
const text = (s: string | undefined): Value | undefined => (s === undefined ? undefined : { valueString: s });
const codes = (url: string, values: readonly string[]) => values.flatMap((v) => ext(url, { valueCode: v }));
const texts = (url: string, values: readonly string[]) => values.flatMap((v) => ext(url, { valueString: v }));

export function renderBasicTopic(topic: Topic): BasicTopicJson {
  const x = (name: string) => XVER_R5 + name;
  const extension: ExtensionJson[] = [
    ...ext(ARTIFACT_URL, { valueUri: topic.url }),
    // Readers of IG 1.2.0-ballot and fhir-candle look for the url here rather than in artifact-url.
    ...ext(x('url'), { valueUri: topic.url }),
    ...ext(x('version'), text(topic.version)),
    ...ext(x('name'), text(topic.name)),
    ...ext(x('title'), text(topic.title)),
    ...ext(x('date'), { valueDateTime: topic.date }),
    ...ext(x('description'), { valueMarkdown: topic.description }),
    ...topic.derivedFrom.flatMap((d) => ext(x('derivedFrom'), { valueCanonical: d })),
    ...topic.resourceTrigger.map((t) => {
      const q = t.queryCriteria;
      return complex(x('resourceTrigger'), [
        ...ext('description', { valueMarkdown: t.description }),
        ...ext('resource', { valueUri: t.resource }),
        ...codes('supportedInteraction', t.supportedInteraction),
        ...(q === undefined
          ? []
          : [
              complex('queryCriteria', [
                ...ext('previous', text(q.previous)),
                ...ext('resultForCreate', { valueCode: q.resultForCreate }),
                ...ext('current', text(q.current)),
                ...ext('resultForDelete', { valueCode: q.resultForDelete }),
                ...ext('requireBoth', { valueBoolean: q.requireBoth }),
              ]),
            ]),
        ...ext('fhirPathCriteria', text(t.fhirPathCriteria)),
      ]);
    }),
    ...topic.canFilterBy.map((f) =>
      complex(x('canFilterBy'), [
        ...ext('description', { valueMarkdown: f.description }),
        ...ext('resource', { valueUri: f.resource }),
        ...ext('filterParameter', text(f.filterParameter)),
        ...ext('filterDefinition', { valueUri: f.filterDefinition }),
        ...codes('comparator', f.comparator),
        ...codes('modifier', f.modifier),
      ]),
    ),
    ...topic.notificationShape.map((s) => complex(x('notificationShape'), [...ext('resource', { valueUri: s.resource }), ...texts('include', s.include), ...texts('revInclude', s.revInclude)])),
  ];
  return {
    resourceType: 'Basic',
    id: topic.id,
    meta: { profile: [TOPIC_PROFILE] },
    extension,
    // Two status modifier extensions would make a reader that knows only one of them reject the
    // resource, so only the 5.0 one is sent (this gateway's reader also accepts artifact-status).
    modifierExtension: [{ url: x('status'), valueCode: topic.status }],
    code: { coding: [{ system: FHIR_TYPES, code: TOPIC_TYPE_CODE }] },
  };
}
