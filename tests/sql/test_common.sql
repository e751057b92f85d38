-- Rule: timestamps render as RFC 3339 in UTC: trailing zeros trimmed on the
-- wire (rfc3339), exactly six fractional digits inside hashes (rfc3339_micro).
BEGIN;
SELECT plan(5);
SET LOCAL timezone = 'America/New_York';
SELECT is(datastorage.rfc3339('2026-02-28T23:30:00.120000-05'), '2026-03-01T04:30:00.12Z',
          'converted to UTC, trailing zeros trimmed');
SELECT is(datastorage.rfc3339('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00Z', 'no fraction at all');
SELECT is(datastorage.rfc3339('2028-02-29T12:00:00.000001Z'), '2028-02-29T12:00:00.000001Z',
          'a microsecond survives; 29 February');
SELECT is(datastorage.rfc3339_micro('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00.000000Z',
          'hash form always has six digits');
SELECT is(datastorage.rfc3339_micro('2026-12-31T23:59:59.5+01'), '2026-12-31T22:59:59.500000Z',
          'hash form is in UTC');
SELECT * FROM finish();
ROLLBACK;
