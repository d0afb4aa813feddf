"""helpdesk_core: the support-ticket domain, its ports and use cases.

Pure: it imports only the standard library and attrs. Adapters implement the ports;
entrypoints compose them (see ``entrypoints.bootstrap``).
"""
