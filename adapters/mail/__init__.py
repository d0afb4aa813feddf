"""Mailers: the log and a folder (the embedded default), SMTP (production)."""
