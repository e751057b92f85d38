-- Small helpers shared by every area.

-- RFC 3339 in UTC with up to six fractional digits, trailing zeros trimmed
-- (the original's rendering of event timestamps on the wire).
CREATE OR REPLACE FUNCTION datastorage.rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || coalesce(nullif('.' || rtrim(to_char(ts AT TIME ZONE 'UTC', 'US'), '0'), '.'), '')
        || 'Z'
$$;

-- Exactly six fractional digits: the fixed-width form used inside hashes.
CREATE OR REPLACE FUNCTION datastorage.rfc3339_micro(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

GRANT EXECUTE ON FUNCTION datastorage.rfc3339(timestamptz), datastorage.rfc3339_micro(timestamptz)
    TO datastorage_app, datastorage_auditor, datastorage_hold_keeper;
