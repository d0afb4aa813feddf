"""Blob stores: attachment bytes kept under their SHA-256, in a folder (the default)."""
