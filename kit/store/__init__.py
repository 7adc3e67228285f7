"""Storage: models and migrations, database setup, raw SQL helpers, tokens, rate-limit
counters, health, the audit log writer, people."""
