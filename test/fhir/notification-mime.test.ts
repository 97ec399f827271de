import { expect } from 'chai';
import { parseNotificationMime } from '../../src/fhir/notification-mime.js';

describe('notification MIME types', () => {
  it('takes FHIR JSON and plain JSON in the server version, case-insensitively', () => {
    expect(parseNotificationMime('application/fhir+json', 'R4')).to.deep.equal({ ok: true, contentType: 'application/fhir+json', notificationVersion: 'R4' });
    expect(parseNotificationMime('Application/JSON', 'R5')).to.deep.equal({ ok: true, contentType: 'application/json', notificationVersion: 'R5' });
  });

  it('chooses R4 or R4B notifications on an R4 or R4B server by fhirVersion', () => {
    for (const server of ['R4', 'R4B'] as const) {
      expect(parseNotificationMime('application/fhir+json; fhirVersion=4.0', server)).to.include({ ok: true, notificationVersion: 'R4' });
      expect(parseNotificationMime('application/fhir+json;fhirVersion=4.3', server)).to.include({ ok: true, notificationVersion: 'R4B' });
      expect(parseNotificationMime('application/fhir+json; FHIRVERSION="4.3.0"', server)).to.include({ ok: true, notificationVersion: 'R4B' });
    }
  });

  it('takes only 5.0 on an R5 server', () => {
    expect(parseNotificationMime('application/fhir+json; fhirVersion=5.0', 'R5')).to.include({ ok: true, notificationVersion: 'R5' });
    expect(parseNotificationMime('application/fhir+json; fhirVersion=4.0', 'R5')).to.deep.equal({
      ok: false,
      reason: 'fhirVersion=4.0 is not offered by this R5 server; offered: 5.0',
    });
    expect(parseNotificationMime('application/fhir+json; fhirVersion=5.0', 'R4').ok).to.equal(false);
  });

  it('ignores other parameters', () => {
    expect(parseNotificationMime('application/fhir+json; charset=utf-8', 'R4')).to.include({ ok: true, contentType: 'application/fhir+json' });
  });

  it('refuses XML, other types, bad fhirVersion values and malformed parameters', () => {
    for (const mime of [
      'application/fhir+xml',
      'text/plain',
      '',
      'application/fhir+json; fhirVersion=4',
      'application/fhir+json; fhirVersion=4.0; fhirVersion=4.3',
      'application/fhir+json; fhirVersion',
    ]) {
      expect(parseNotificationMime(mime, 'R4').ok, mime).to.equal(false);
    }
  });
});
