"""Settings: every knob of the service, read from ``HELPDESK_*`` variables and an optional ``.env``.

Each setting is one field of ``Settings`` (``settings.py``) carrying its default, its parser
(``parsers.py``) and its meaning; ``VARIABLES`` is derived from those fields and renders each
default as text (``rendering.py``). ``load_settings`` (``loading.py``) reads the variables,
``helpdesk config show`` prints them, and a test checks that ``.env.example`` and
``docs/configuration.md`` list every variable with its default as rendered here.
A bad value raises ``ConfigError`` naming the variable, the value and what is expected.
"""

from __future__ import annotations

from entrypoints.config.loading import (
    ConfigError,
    check_settings,
    ensure_secret_keys,
    load_settings,
)
from entrypoints.config.settings import (
    INBOUND_PREFIX,
    PREFIX,
    VARIABLES,
    Settings,
    Variable,
    setting,
)

__all__ = [
    "INBOUND_PREFIX",
    "PREFIX",
    "VARIABLES",
    "ConfigError",
    "Settings",
    "Variable",
    "check_settings",
    "ensure_secret_keys",
    "load_settings",
    "setting",
]
