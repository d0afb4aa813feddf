"""Entities, value objects and errors of the helpdesk domain."""
