/// The tables a registrar cluster shares, created if missing (idempotent, so every registrar
/// runs them at start under one advisory lock). A later change adds statements at the end.
enum PostgresSchema {
    static let statements = [
        // One row per binding, keyed as RFC 3261 §10.3 and RFC 5626 §6 key it (``bindingKey``).
        """
        CREATE TABLE IF NOT EXISTS edgeway_binding (
            aor text NOT NULL,
            binding_key text NOT NULL,
            position integer NOT NULL,
            contact_uri text NOT NULL,
            contact_value text NOT NULL,
            instance_id text,
            reg_id bigint,
            call_id text NOT NULL,
            cseq bigint NOT NULL,
            expires_at bigint NOT NULL,
            path text NOT NULL,
            path_identity text NOT NULL,
            PRIMARY KEY (aor, binding_key)
        )
        """,
        "CREATE INDEX IF NOT EXISTS edgeway_binding_expires_at ON edgeway_binding (expires_at)",
        """
        CREATE TABLE IF NOT EXISTS edgeway_account (
            realm text NOT NULL,
            username text NOT NULL,
            ha1_md5 text NOT NULL,
            ha1_sha256 text NOT NULL,
            PRIMARY KEY (realm, username)
        )
        """,
    ]
}
