//! keepalived.conf: see issue 3. (module owned by the config work)
