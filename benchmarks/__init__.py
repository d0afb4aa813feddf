"""Benchmarks: seeding, load generation and the raw baseline (see docs/performance.md)."""
