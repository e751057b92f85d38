-- Rule: every stored event becomes one leaf of the transparency log, a
-- global RFC 9162 Merkle tree (docs/transparency-log.md).
--
--   leaf       = UTF-8 of event_id || '\n' || event_hash || '\n' || correlation_id
--   leaf hash  = SHA-256(0x00 || leaf)
--   node hash  = SHA-256(0x01 || left || right)
--
-- The append path only writes the outbox (a statement trigger, same
-- transaction, no global lock). tlog_integrate() moves outbox rows into
-- leaves in batches, one integrator at a time, and stores the hash of every
-- subtree that became complete, so a proof reads O(log n) rows.
-- SECURITY DEFINER functions pin search_path and schema-qualify everything.

-- STABLE, not IMMUTABLE: convert_to() is stable, and a SQL function declared
-- more strictly than its body is never inlined (a call per leaf).
CREATE OR REPLACE FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text,
                                                 p_correlation_id text)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.convert_to(p_event_id::text || E'\n' || coalesce(p_event_hash, '')
                                 || E'\n' || p_correlation_id, 'UTF8')
$$;

CREATE OR REPLACE FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text,
                                                      p_correlation_id text)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.sha256('\x00'::bytea
                             || datastorage.tlog_leaf(p_event_id, p_event_hash, p_correlation_id))
$$;

CREATE OR REPLACE FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.sha256('\x01'::bytea || p_left || p_right)
$$;

-- Capture: every row inserted into audit_events, whoever inserts it (append
-- function, spool replay, workflow catalog, a DBA), in insertion order (the
-- append function inserts in chain order; no sort on the append path).
CREATE OR REPLACE FUNCTION datastorage.tlog_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.tlog_outbox (event_id, correlation_id, event_hash)
    SELECT n.event_id, n.correlation_id, n.event_hash FROM new_rows n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER audit_events_tlog_capture AFTER INSERT ON public.audit_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage.tlog_capture();

-- The log's leaves, interior nodes and checkpoints are append-only (the
-- owner could drop these triggers: the log's evidence is the signed
-- checkpoints outside the database, not these tables).
CREATE OR REPLACE FUNCTION datastorage.tlog_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% of % is not allowed: the transparency log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;

CREATE OR REPLACE TRIGGER tlog_leaves_append_only BEFORE UPDATE OR DELETE ON public.tlog_leaves
    FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();
CREATE OR REPLACE TRIGGER tlog_leaves_no_truncate BEFORE TRUNCATE ON public.tlog_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();
CREATE OR REPLACE TRIGGER tlog_nodes_append_only BEFORE UPDATE OR DELETE ON public.tlog_nodes
    FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();
CREATE OR REPLACE TRIGGER tlog_nodes_no_truncate BEFORE TRUNCATE ON public.tlog_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();
CREATE OR REPLACE TRIGGER tlog_checkpoints_append_only BEFORE UPDATE OR DELETE ON public.tlog_checkpoints
    FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();
CREATE OR REPLACE TRIGGER tlog_checkpoints_no_truncate BEFORE TRUNCATE ON public.tlog_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();

-- Number of leaves integrated so far.
CREATE OR REPLACE FUNCTION datastorage.tlog_size() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(max(l.leaf_index) + 1, 0) FROM public.tlog_leaves l
$$;

-- Leaves [s, s + n) from the oldest committed outbox rows (internal).
-- Rows still uncommitted are invisible here and simply wait for a later batch.
CREATE OR REPLACE FUNCTION datastorage.tlog_take(s bigint, p_max_batch integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    WITH taken AS (
        DELETE FROM public.tlog_outbox o
         WHERE o.seq IN (SELECT b.seq FROM public.tlog_outbox b ORDER BY b.seq LIMIT p_max_batch)
        RETURNING o.seq, o.event_id, o.correlation_id, o.event_hash)
    INSERT INTO public.tlog_leaves (leaf_index, event_id, correlation_id, event_hash, leaf_hash)
    SELECT s + pg_catalog.row_number() OVER (ORDER BY t.seq) - 1, t.event_id, t.correlation_id,
           t.event_hash, datastorage.tlog_leaf_hash(t.event_id, t.event_hash, t.correlation_id)
      FROM taken t;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Move up to p_max_batch outbox rows into the tree. Returns the number of
-- leaves added; 0 at once when another integrator holds the lock.
-- work_mem: a batch's sorts stay in memory.
CREATE OR REPLACE FUNCTION datastorage.tlog_integrate(p_max_batch integer DEFAULT 50000)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' AS $$
DECLARE
    s   bigint;
    e   bigint;
    n   bigint;
    lvl integer := 1;
    queued_ids  uuid[];
    queued_seqs bigint[];
    repeats     bigint[];
BEGIN
    IF p_max_batch IS NULL OR p_max_batch < 1 THEN
        RAISE EXCEPTION 'max_batch must be a positive integer' USING ERRCODE = 'DS400';
    END IF;
    -- 'tlog': one integrator across every replica; the others return at once.
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1953263463) THEN
        RETURN 0;
    END IF;
    s := datastorage.tlog_size();
    BEGIN
        n := datastorage.tlog_take(s, p_max_batch);
    EXCEPTION WHEN unique_violation THEN
        -- An event offered twice (it is already a leaf, or queued twice: a
        -- second row with its event_id inserted past the append function).
        -- Rare, so checked only then: drop the repeats and take again. On a
        -- Citus cluster, also the same id appended in two chains (ids are
        -- unique per chain there, docs/scaling-out.md): the first is the
        -- leaf. In steps, the queue read once: Citus cannot join the outbox
        -- (distributed by chain) with itself on event_id, nor with the leaves.
        SELECT array_agg(o.event_id), array_agg(o.seq) INTO queued_ids, queued_seqs
          FROM public.tlog_outbox o;
        SELECT array_agg(t.seq) INTO repeats
          FROM (SELECT u.event_id, u.seq,
                       pg_catalog.row_number() OVER (PARTITION BY u.event_id ORDER BY u.seq) AS nth
                  FROM unnest(queued_ids, queued_seqs) AS u(event_id, seq)) t
         WHERE t.nth > 1 OR EXISTS (SELECT 1 FROM public.tlog_leaves l WHERE l.event_id = t.event_id);
        DELETE FROM public.tlog_outbox o WHERE o.seq = ANY (repeats);
        n := datastorage.tlog_take(s, p_max_batch);
    END;
    e := s + n;
    -- Level by level, the nodes whose subtree the batch completed:
    -- (lvl, i) for i in [s >> lvl, e >> lvl), from children 2i and 2i+1.
    WHILE (e >> lvl) > (s >> lvl) LOOP
        IF lvl = 1 THEN
            INSERT INTO public.tlog_nodes (level, idx, hash)
            SELECT 1, c.i >> 1, c.h FROM (
                SELECT l.leaf_index AS i,
                       datastorage.tlog_node_hash(l.leaf_hash,
                                                  pg_catalog.lead(l.leaf_hash) OVER (ORDER BY l.leaf_index)) AS h
                  FROM public.tlog_leaves l
                 WHERE l.leaf_index >= (s >> 1) << 1 AND l.leaf_index < (e >> 1) << 1) c
             WHERE c.i % 2 = 0;
        ELSE
            INSERT INTO public.tlog_nodes (level, idx, hash)
            SELECT lvl, c.i >> 1, c.h FROM (
                SELECT d.idx AS i,
                       datastorage.tlog_node_hash(d.hash, pg_catalog.lead(d.hash) OVER (ORDER BY d.idx)) AS h
                  FROM public.tlog_nodes d
                 WHERE d.level = lvl - 1
                   AND d.idx >= (s >> lvl) << 1 AND d.idx < (e >> lvl) << 1) c
             WHERE c.i % 2 = 0;
        END IF;
        lvl := lvl + 1;
    END LOOP;
    RETURN n;
END
$$;

-- RFC 9162's k: the largest power of two smaller than n (n > 1).
CREATE OR REPLACE FUNCTION datastorage.tlog_split(n bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 1::bigint << (pg_catalog.length(pg_catalog.ltrim((n - 1)::bit(64)::text, '0')) - 1)
$$;

-- MTH(D[lo:hi]) from stored hashes: a complete aligned subtree is one row;
-- any other range of the RFC 9162 tree splits into a complete left part and
-- the rest, so a range costs O(log n) reads. Internal (not granted, called
-- by the SECURITY DEFINER functions below): without a SET clause a call
-- costs no configuration save and restore, and it recurses a lot.
CREATE OR REPLACE FUNCTION datastorage.tlog_subtree(p_lo bigint, p_hi bigint) RETURNS bytea
LANGUAGE plpgsql STABLE AS $$
DECLARE
    width bigint := p_hi - p_lo;
    k     bigint := 1;
    lvl   integer := 0;
    h     bytea;
BEGIN
    IF width <= 0 THEN
        RETURN pg_catalog.sha256(''::bytea);
    END IF;
    WHILE k * 2 <= width LOOP
        k := k * 2;
        lvl := lvl + 1;
    END LOOP;
    IF k = width AND p_lo % k = 0 THEN
        IF lvl = 0 THEN
            SELECT l.leaf_hash INTO h FROM public.tlog_leaves l WHERE l.leaf_index = p_lo;
        ELSE
            SELECT d.hash INTO h FROM public.tlog_nodes d WHERE d.level = lvl AND d.idx = p_lo / k;
        END IF;
        IF h IS NULL THEN
            RAISE EXCEPTION 'transparency log node (%, %) is missing', lvl, p_lo / k
                USING ERRCODE = 'XX001';
        END IF;
        RETURN h;
    END IF;
    IF k = width THEN
        k := k / 2;
    END IF;
    RETURN datastorage.tlog_node_hash(datastorage.tlog_subtree(p_lo, p_lo + k),
                                      datastorage.tlog_subtree(p_lo + k, p_hi));
END
$$;

-- A tree size a proof may refer to: 0 .. current size (internal, like tlog_subtree).
CREATE OR REPLACE FUNCTION datastorage.tlog_check_size(p_name text, p_size bigint, p_min bigint)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur bigint := datastorage.tlog_size();
BEGIN
    IF p_size IS NULL OR p_size < p_min OR p_size > cur THEN
        RAISE EXCEPTION '% must be between % and the log size %, got %', p_name, p_min, cur,
                        coalesce(p_size::text, 'nothing')
            USING ERRCODE = 'DS400', HINT = 'validation-error',
                  DETAIL = pg_catalog.json_build_object(p_name, p_size, 'log_size', cur)::text;
    END IF;
END
$$;

-- Root hash of the tree of the first p_tree_size leaves.
CREATE OR REPLACE FUNCTION datastorage.tlog_root(p_tree_size bigint) RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM datastorage.tlog_check_size('tree_size', p_tree_size, 0);
    RETURN datastorage.tlog_subtree(0, p_tree_size);
END
$$;

-- RFC 9162 §2.1.3.1 PATH(m, D[n]): sibling hashes from the leaf upwards.
CREATE OR REPLACE FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint)
RETURNS bytea[] LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lo    bigint := 0;
    hi    bigint := p_tree_size;
    k     bigint;
    proof bytea[] := '{}';
BEGIN
    PERFORM datastorage.tlog_check_size('tree_size', p_tree_size, 1);
    IF p_leaf_index IS NULL OR p_leaf_index < 0 OR p_leaf_index >= p_tree_size THEN
        RAISE EXCEPTION 'leaf index % is not in a tree of size %', p_leaf_index, p_tree_size
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    WHILE hi - lo > 1 LOOP
        k := datastorage.tlog_split(hi - lo);
        IF p_leaf_index < lo + k THEN
            proof := datastorage.tlog_subtree(lo + k, hi) || proof;
            hi := lo + k;
        ELSE
            proof := datastorage.tlog_subtree(lo, lo + k) || proof;
            lo := lo + k;
        END IF;
    END LOOP;
    RETURN proof;
END
$$;

-- RFC 9162 §2.1.4.1 PROOF(m, D[n]) for 1 <= m <= n (empty when m = n).
CREATE OR REPLACE FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint)
RETURNS bytea[] LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lo       bigint := 0;
    hi       bigint := p_second;
    m        bigint := p_first;
    complete boolean := true;
    k        bigint;
    proof    bytea[] := '{}';
BEGIN
    PERFORM datastorage.tlog_check_size('second', p_second, 1);
    IF p_first IS NULL OR p_first < 1 OR p_first > p_second THEN
        RAISE EXCEPTION 'first must be between 1 and second (%), got %', p_second,
                        coalesce(p_first::text, 'nothing')
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    LOOP
        IF m = hi - lo THEN
            IF NOT complete THEN
                proof := datastorage.tlog_subtree(lo, hi) || proof;
            END IF;
            RETURN proof;
        END IF;
        k := datastorage.tlog_split(hi - lo);
        IF m <= k THEN
            proof := datastorage.tlog_subtree(lo + k, hi) || proof;
            hi := lo + k;
        ELSE
            proof := datastorage.tlog_subtree(lo, lo + k) || proof;
            lo := lo + k;
            m := m - k;
            complete := false;
        END IF;
    END LOOP;
END
$$;

-- The inclusion proof of one event, by event_id, for DBAs and the HTTP API.
-- p_tree_size NULL: against the latest checkpoint (or the whole log when
-- none was signed yet).
CREATE OR REPLACE FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint DEFAULT NULL)
RETURNS TABLE (event_id uuid, correlation_id text, event_hash text, leaf_index bigint,
               tree_size bigint, leaf_hash bytea, root_hash bytea, proof bytea[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    leaf public.tlog_leaves;
    size bigint := p_tree_size;
BEGIN
    SELECT * INTO leaf FROM public.tlog_leaves l WHERE l.event_id = p_event_id;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM public.audit_events a WHERE a.event_id = p_event_id) THEN
            RAISE EXCEPTION 'event % is stored but not yet in the transparency log; retry shortly',
                            p_event_id
                USING ERRCODE = 'DS404', HINT = 'not-found';
        END IF;
        RAISE EXCEPTION 'event % is not in the transparency log', p_event_id
            USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
    IF size IS NULL THEN
        size := coalesce((SELECT c.tree_size FROM public.tlog_checkpoints c ORDER BY c.id DESC LIMIT 1),
                         datastorage.tlog_size());
    END IF;
    IF leaf.leaf_index >= size THEN
        RAISE EXCEPTION 'event % is leaf % and not in a tree of size %', p_event_id, leaf.leaf_index, size
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    RETURN QUERY SELECT leaf.event_id, leaf.correlation_id::text, leaf.event_hash, leaf.leaf_index,
                        size, leaf.leaf_hash, datastorage.tlog_root(size),
                        datastorage.tlog_inclusion_proof(leaf.leaf_index, size);
END
$$;

-- Both roots and the proof between them, for DBAs and the HTTP API.
CREATE OR REPLACE FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint)
RETURNS TABLE (first bigint, second bigint, first_root bytea, second_root bytea, proof bytea[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_first, p_second, datastorage.tlog_root(p_first), datastorage.tlog_root(p_second),
           datastorage.tlog_consistency_proof(p_first, p_second)
$$;

-- What a checkpoint signer needs: the current size and root.
CREATE OR REPLACE FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    tree_size := datastorage.tlog_size();
    root_hash := datastorage.tlog_subtree(0, tree_size);
END
$$;

-- Record a signed checkpoint (idempotent: Ed25519 signatures are
-- deterministic, so two workers signing one head store one note). The root
-- must be this log's root at that size.
CREATE OR REPLACE FUNCTION datastorage.tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea,
                                                              p_note text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF datastorage.tlog_root(p_tree_size) IS DISTINCT FROM p_root_hash THEN
        RAISE EXCEPTION 'root hash does not match the log at size %', p_tree_size
            USING ERRCODE = 'DS409', HINT = 'conflict';
    END IF;
    INSERT INTO public.tlog_checkpoints (tree_size, root_hash, note)
    VALUES (p_tree_size, p_root_hash, p_note)
    ON CONFLICT (note) DO NOTHING;
    RETURN FOUND;
END
$$;

-- The latest signed checkpoint (no row before the first one).
CREATE OR REPLACE FUNCTION datastorage.tlog_latest_checkpoint()
RETURNS TABLE (tree_size bigint, root_hash bytea, note text, signed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.tree_size, c.root_hash, c.note, c.signed_at
      FROM public.tlog_checkpoints c ORDER BY c.id DESC LIMIT 1
$$;

-- For exports: the latest checkpoint and, for each given event it covers,
-- {"leaf_index": i, "proof": [base64 hashes]}. No checkpoint yet: no row.
CREATE OR REPLACE FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[])
RETURNS TABLE (checkpoint text, proofs jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.note,
           coalesce((SELECT pg_catalog.jsonb_object_agg(l.event_id::text, pg_catalog.jsonb_build_object(
                         'leaf_index', l.leaf_index,
                         'proof', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.encode(h, 'base64')
                                                                        ORDER BY o), '[]')
                                   FROM pg_catalog.unnest(datastorage.tlog_inclusion_proof(l.leaf_index,
                                                                                           c.tree_size))
                                        WITH ORDINALITY AS x(h, o))))
                     FROM public.tlog_leaves l
                     WHERE l.event_id = ANY (p_event_ids) AND l.leaf_index < c.tree_size), '{}')
    FROM (SELECT * FROM public.tlog_checkpoints ORDER BY id DESC LIMIT 1) c
$$;

-- C2SP tlog-tiles read side. Tile (level, index, width): the hashes of tree
-- level 8 * level, indexes index * 256 .. + width - 1 (level 0: leaf hashes),
-- concatenated; it must lie within the current tree. Entry bundle (index,
-- width): those leaves, each as a big-endian uint16 length and the leaf.
CREATE OR REPLACE FUNCTION datastorage.tlog_tile_check(p_level integer, p_index bigint, p_width integer)
RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_level NOT BETWEEN 0 AND 7 OR p_index < 0 OR p_width NOT BETWEEN 1 AND 256
       OR p_index > (1::bigint << 54) THEN
        RAISE EXCEPTION 'no such tile' USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
    IF (p_index * 256 + p_width) > (datastorage.tlog_size() >> (8 * p_level)) THEN
        RAISE EXCEPTION 'tile %/% of width % is beyond the log', p_level, p_index, p_width
            USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer)
RETURNS bytea LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lo bigint := p_index * 256;
BEGIN
    PERFORM datastorage.tlog_tile_check(p_level, p_index, p_width);
    IF p_level = 0 THEN
        RETURN (SELECT pg_catalog.string_agg(l.leaf_hash, ''::bytea ORDER BY l.leaf_index)
                  FROM public.tlog_leaves l
                 WHERE l.leaf_index >= lo AND l.leaf_index < lo + p_width);
    END IF;
    RETURN (SELECT pg_catalog.string_agg(d.hash, ''::bytea ORDER BY d.idx)
              FROM public.tlog_nodes d
             WHERE d.level = 8 * p_level AND d.idx >= lo AND d.idx < lo + p_width);
END
$$;

CREATE OR REPLACE FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer)
RETURNS bytea LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM datastorage.tlog_tile_check(0, p_index, p_width);
    RETURN (SELECT pg_catalog.string_agg(
                       pg_catalog.int2send(pg_catalog.length(x.leaf)::smallint) || x.leaf, ''::bytea
                       ORDER BY x.leaf_index)
              FROM (SELECT l.leaf_index,
                           datastorage.tlog_leaf(l.event_id, l.event_hash, l.correlation_id) AS leaf
                      FROM public.tlog_leaves l
                     WHERE l.leaf_index >= p_index * 256 AND l.leaf_index < p_index * 256 + p_width) x);
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.tlog_leaf(uuid, text, text),
                          datastorage.tlog_leaf_hash(uuid, text, text),
                          datastorage.tlog_node_hash(bytea, bytea),
                          datastorage.tlog_size(),
                          datastorage.tlog_root(bigint),
                          datastorage.tlog_inclusion_proof(bigint, bigint),
                          datastorage.tlog_consistency_proof(bigint, bigint),
                          datastorage.tlog_event_proof(uuid, bigint),
                          datastorage.tlog_consistency(bigint, bigint),
                          datastorage.tlog_export_proofs(uuid[]),
                          datastorage.tlog_tile(integer, bigint, integer),
                          datastorage.tlog_entry_bundle(bigint, integer),
                          datastorage.tlog_head(),
                          datastorage.tlog_latest_checkpoint()
    TO datastorage_app, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.tlog_integrate(integer),
                          datastorage.tlog_record_checkpoint(bigint, bytea, text)
    TO datastorage_app;
