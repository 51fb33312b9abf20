"""shopbridge's own tables (ledger, webhook inbox, activity, quarantine log): what was
written where, so a rerun never writes twice."""
