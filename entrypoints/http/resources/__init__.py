"""Falcon resources: structure the body, call the use case, unstructure the result."""
