-- Rule: a verification request is bounded by the events it would read
-- (issue 12 §5). The service asks for the size of the requested chains
-- before it verifies them; the chain heads know it without reading a chain.

CREATE OR REPLACE FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(sum(h.last_seq), 0)::bigint
    FROM audit_chain_heads h
    WHERE h.correlation_id = ANY (p_correlation_ids)
$$;

GRANT EXECUTE ON FUNCTION datastorage.chain_sizes(text[]) TO datastorage_app, datastorage_auditor;
