"""Binds every feature under features/ (recursively) to the shared steps, exactly once."""

from pytest_bdd import scenarios

scenarios("")
