-- Citus: SQL-language functions that read distributed tables, re-declared
-- as PL/pgSQL with the same body (app/migrate.py, after 30_functions.sql;
-- sent to the workers too). Citus cannot plan the statements of a SQL
-- function that carry its parameters ("could not create distributed plan"),
-- nor a query into which the planner inlined such a function. On one node
-- they stay SQL (inlined, planned with their constants); the function
-- files keep the one definition, and this turns it into
--   BEGIN RETURN QUERY <body>; END            (a set-returning function)
--   BEGIN <body> INTO result; RETURN result; END   (one value)
-- where, as in a SQL function, a column name wins over a parameter's.
-- Which: functions of datastorage in SQL whose body names a table Citus
-- distributed by hash (docs/scaling-out.md, "The read side on a cluster"),
-- except retention's: retention does not run on a cluster yet, and its plan
-- would come out incomplete (it groups rows by tableoid, a shard's oid on a
-- worker), so it stays refused as a whole.
DO $$
DECLARE
    f record;
    body text;
    def text;
BEGIN
    FOR f IN
        SELECT p.oid, p.prosrc, p.proretset, format_type(p.prorettype, NULL) AS rettype
        FROM pg_proc p
        WHERE p.pronamespace = 'datastorage'::regnamespace
          AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql')
          AND p.prokind = 'f'
          AND p.proname NOT LIKE 'retention\_%'
          AND EXISTS (SELECT 1 FROM pg_dist_partition d
                      JOIN pg_class c ON c.oid = d.logicalrelid
                      WHERE d.partmethod = 'h'
                        AND p.prosrc ~ ('public\.' || c.relname || '\M'))
    LOOP
        body := regexp_replace(f.prosrc, '[\s;]+$', '');
        IF f.proretset THEN
            body := E'\n#variable_conflict use_column\nBEGIN\n    RETURN QUERY' || body || E';\nEND\n';
        ELSE
            body := E'\n#variable_conflict use_column\nDECLARE\n    result ' || f.rettype
                    || E';\nBEGIN' || body || E'\n    INTO result;\n    RETURN result;\nEND\n';
        END IF;
        def := pg_get_functiondef(f.oid);
        IF position(f.prosrc IN def) = 0 OR def !~ E'\n LANGUAGE sql\n' THEN
            RAISE EXCEPTION 'cannot re-declare % as PL/pgSQL', f.oid::regprocedure;
        END IF;
        def := replace(regexp_replace(def, E'\n LANGUAGE sql\n', E'\n LANGUAGE plpgsql\n'),
                       f.prosrc, body);
        EXECUTE def;
    END LOOP;
END
$$;
