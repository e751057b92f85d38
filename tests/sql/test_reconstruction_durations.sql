-- Rule: timeout durations follow Go's time.ParseDuration grammar and are
-- rendered as Go's Duration.String(); errors use Go's wording (they reach
-- clients verbatim in the reconstruction's invalid-duration problem).
BEGIN;
SELECT plan(6);

SELECT results_eq(
    $$ SELECT s, datastorage.go_duration_text(p.nanos)
         FROM unnest(ARRAY['1h', '30m', '10m', '90s', '1.5h', '45s', '0', '+0', '-0', '1h30m', '-1.5h',
                           '1.5ms', '500ms', '.5s', '5.s', '100ns', '1us', '1µs', '1μs', '3h0.5m',
                           '0.000000001s', '0.0000000001s', '1.123456789123s', '2h45m30.25s',
                           '9223372036854775807ns', '-9223372036854775808ns'])
              WITH ORDINALITY AS t(s, i), datastorage.go_duration_parse(s) p ORDER BY i $$,
    $$ VALUES ('1h', '1h0m0s'), ('30m', '30m0s'), ('10m', '10m0s'), ('90s', '1m30s'),
              ('1.5h', '1h30m0s'), ('45s', '45s'), ('0', '0s'), ('+0', '0s'), ('-0', '0s'),
              ('1h30m', '1h30m0s'), ('-1.5h', '-1h30m0s'), ('1.5ms', '1.5ms'), ('500ms', '500ms'),
              ('.5s', '500ms'), ('5.s', '5s'), ('100ns', '100ns'), ('1us', '1µs'), ('1µs', '1µs'),
              ('1μs', '1µs'), ('3h0.5m', '3h0m30s'), ('0.000000001s', '1ns'),
              ('0.0000000001s', '0s'), ('1.123456789123s', '1.123456789s'),
              ('2h45m30.25s', '2h45m30.25s'),
              ('9223372036854775807ns', '2562047h47m16.854775807s'),
              ('-9223372036854775808ns', '-2562047h47m16.854775808s') $$,
    'accepted durations and their canonical Go text');

SELECT results_eq(
    $$ SELECT s, p.error, p.nanos IS NULL
         FROM unnest(ARRAY['1d', '10', 'abc', '', '-', '.s', '1h 30m', '1e3s', 'h',
                           '9223372036854775808ns', '2562047h47m16.854775808s'])
              WITH ORDINALITY AS t(s, i), datastorage.go_duration_parse(s) p ORDER BY i $$,
    $$ VALUES ('1d', 'time: unknown unit "d" in duration "1d"', true),
              ('10', 'time: missing unit in duration "10"', true),
              ('abc', 'time: invalid duration "abc"', true),
              ('', 'time: invalid duration ""', true),
              ('-', 'time: invalid duration "-"', true),
              ('.s', 'time: invalid duration ".s"', true),
              ('1h 30m', 'time: unknown unit "h " in duration "1h 30m"', true),
              ('1e3s', 'time: unknown unit "e" in duration "1e3s"', true),
              ('h', 'time: invalid duration "h"', true),
              ('9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"', true),
              ('2562047h47m16.854775808s', 'time: invalid duration "2562047h47m16.854775808s"', true) $$,
    'refused durations, with Go''s error text');

SELECT is(datastorage.go_quote(E'a"b\\c\tµ'), E'"a\\"b\\\\c\\x09\\xc2\\xb5"',
          'Go quoting: escapes quotes and backslashes, shows control and non-ASCII bytes as \xNN');
SELECT is((datastorage.go_duration_parse('5 d')).error, E'time: unknown unit " d" in duration "5 d"',
          'the unit runs up to the next digit or dot');
SELECT is(datastorage.go_duration_text(1500), '1.5µs', 'microseconds use the micro sign U+00B5');
SELECT is(datastorage.go_duration_text(-61000000000), '-1m1s', 'negative durations get a leading minus');

SELECT * FROM finish();
ROLLBACK;
