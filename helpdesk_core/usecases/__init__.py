"""Application services: each public method is one use case."""
