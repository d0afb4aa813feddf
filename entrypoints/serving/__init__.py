"""How ``helpdesk serve``'s gunicorn workers take connections and read requests: the gthread
worker with a fairer accept (``fair_accept``) that reads each request whole in its poller,
under a deadline (``read_deadline``, framed by ``request_scanner``).

It subclasses gunicorn's internals, so it sits apart from the HTTP app and the command line:
it imports neither (an import-linter contract); ``entrypoints/cli/serve.py`` hands it to
gunicorn.
"""
