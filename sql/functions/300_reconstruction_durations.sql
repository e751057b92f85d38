-- Rule: timeout durations recorded in audit events are Go duration strings.
-- They are read with exactly Go's time.ParseDuration grammar (optional sign,
-- then <number>[.<fraction>]<unit> groups, units ns us µs μs ms s m h, the
-- bare "0"; no spaces, no days) and written back in Go's Duration.String()
-- form (1h0m0s, 1m30s, 1.5ms, 0s), so a reconstructed RemediationRequest
-- carries the same text the controller would have written. Errors carry Go's
-- own wording because the reconstruction endpoint reports them verbatim.

-- Go's time-package quoting: ASCII kept (with \" and \\), every byte of a
-- control or non-ASCII character shown as \xNN.
CREATE OR REPLACE FUNCTION datastorage.go_quote(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '"' || coalesce(string_agg(
        CASE WHEN ascii(c) < 32 OR ascii(c) > 127
             THEN regexp_replace(encode(convert_to(c, 'UTF8'), 'hex'), '(..)', '\\x\1', 'g')
             WHEN c IN ('"', '\') THEN '\' || c
             ELSE c END, '' ORDER BY i), '') || '"'
    FROM regexp_split_to_table(s, '') WITH ORDINALITY AS t(c, i)
$$;

-- Parse a Go duration. Never raises: `nanos` is the value (numeric, so that
-- -2^63 survives) or NULL with `error` set to Go's message, e.g.
-- `time: unknown unit "d" in duration "1d"`.
CREATE OR REPLACE FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    simple  text[] := regexp_match(s, '^([0-9]{1,6})(h|m|s|ms)$');  -- the usual case
    limit63 CONSTANT numeric := 9223372036854775808;  -- 1 << 63
    rest    text := s;
    neg     boolean := false;
    total   numeric := 0;
    whole   text;
    frac    text;
    unit    text;
    unit_ns numeric;
    v       numeric;
    f       numeric;
    scale   float8;
    d       integer;
    bad     text;       -- 'invalid' | 'missing unit' | 'unknown unit'
BEGIN
    IF simple IS NOT NULL THEN
        -- At most six digits: cannot overflow whatever the unit.
        nanos := simple[1]::numeric * CASE simple[2] WHEN 'h' THEN 3600000000000
            WHEN 'm' THEN 60000000000 WHEN 's' THEN 1000000000 ELSE 1000000 END;
        RETURN;
    END IF;
    IF left(rest, 1) IN ('-', '+') THEN
        neg := left(rest, 1) = '-';
        rest := substr(rest, 2);
    END IF;
    IF rest = '0' THEN
        nanos := 0;
        RETURN;
    END IF;
    IF rest = '' THEN
        bad := 'invalid';
    END IF;
    WHILE bad IS NULL AND rest <> '' LOOP
        IF left(rest, 1) !~ '^[0-9.]$' THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- [0-9]*: Go refuses an integer part above 2^63.
        whole := substring(rest FROM '^[0-9]*');
        rest := substr(rest, length(whole) + 1);
        v := coalesce(nullif(whole, '')::numeric, 0);
        IF v > limit63 THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- (\.[0-9]*)?: digits past the point where Go's accumulator would
        -- overflow are consumed but ignored.
        f := 0;
        scale := 1;
        frac := '';
        IF left(rest, 1) = '.' THEN
            rest := substr(rest, 2);
            frac := substring(rest FROM '^[0-9]*');
            rest := substr(rest, length(frac) + 1);
            FOR i IN 1 .. length(frac) LOOP
                d := ascii(substr(frac, i, 1)) - 48;
                EXIT WHEN f > div(limit63 - 1, 10) OR f * 10 + d > limit63;
                f := f * 10 + d;
                scale := scale * 10;
            END LOOP;
        END IF;
        IF whole = '' AND frac = '' THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- The unit is everything up to the next digit or dot.
        unit := substring(rest FROM '^[^0-9.]*');
        rest := substr(rest, length(unit) + 1);
        IF unit = '' THEN
            bad := 'missing unit';
            EXIT;
        END IF;
        unit_ns := CASE unit
            WHEN 'ns' THEN 1 WHEN 'us' THEN 1000 WHEN 'µs' THEN 1000 WHEN 'μs' THEN 1000
            WHEN 'ms' THEN 1000000 WHEN 's' THEN 1000000000
            WHEN 'm' THEN 60000000000 WHEN 'h' THEN 3600000000000 END;
        IF unit_ns IS NULL THEN
            bad := 'unknown unit';
            EXIT;
        END IF;
        IF v > div(limit63, unit_ns) THEN
            bad := 'invalid';
            EXIT;
        END IF;
        v := v * unit_ns;
        IF f > 0 THEN
            -- Go computes the fraction in float64 and truncates; so do we.
            v := v + trunc(f::float8 * (unit_ns::float8 / scale))::numeric;
        END IF;
        total := total + v;
        IF v > limit63 OR total > limit63 THEN
            bad := 'invalid';
            EXIT;
        END IF;
    END LOOP;
    IF bad IS NULL AND NOT neg AND total > limit63 - 1 THEN
        bad := 'invalid';
    END IF;
    error := CASE bad
        WHEN 'invalid' THEN 'time: invalid duration ' || datastorage.go_quote(s)
        WHEN 'missing unit' THEN 'time: missing unit in duration ' || datastorage.go_quote(s)
        WHEN 'unknown unit' THEN 'time: unknown unit ' || datastorage.go_quote(unit)
                                 || ' in duration ' || datastorage.go_quote(s) END;
    nanos := CASE WHEN bad IS NOT NULL THEN NULL WHEN neg THEN -total ELSE total END;
END
$$;

-- Go's Duration.String(): below one second a single unit (ns, µs, ms) with
-- a trimmed fraction; otherwise [<h>h][<m>m]<s>[.<frac>]s; zero is "0s".
CREATE OR REPLACE FUNCTION datastorage.go_duration_text(nanos numeric) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    u      numeric := abs(trunc(nanos));
    sign   text := CASE WHEN nanos < 0 THEN '-' ELSE '' END;
    scale  numeric;
    digits integer;
    frac   numeric;
    secs   numeric;
    out    text;
BEGIN
    IF u = 0 THEN
        RETURN '0s';
    END IF;
    IF u < 1000000000 THEN
        digits := CASE WHEN u < 1000 THEN 0 WHEN u < 1000000 THEN 3 ELSE 6 END;
        scale := CASE digits WHEN 0 THEN 1 WHEN 3 THEN 1000 ELSE 1000000 END;
        frac := mod(u, scale);
        RETURN sign || div(u, scale)::text
            || CASE WHEN frac = 0 THEN '' ELSE '.' || rtrim(lpad(frac::text, digits, '0'), '0') END
            || CASE digits WHEN 0 THEN 'ns' WHEN 3 THEN 'µs' ELSE 'ms' END;
    END IF;
    frac := mod(u, 1000000000);
    secs := div(u, 1000000000);
    out := mod(secs, 60)::text
        || CASE WHEN frac = 0 THEN '' ELSE '.' || rtrim(lpad(frac::text, 9, '0'), '0') END || 's';
    IF secs >= 60 THEN
        out := mod(div(secs, 60), 60)::text || 'm' || out;
        IF secs >= 3600 THEN
            out := div(secs, 3600)::text || 'h' || out;
        END IF;
    END IF;
    RETURN sign || out;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.go_quote(text),
                          datastorage.go_duration_parse(text),
                          datastorage.go_duration_text(numeric)
    TO datastorage_app, datastorage_auditor;
