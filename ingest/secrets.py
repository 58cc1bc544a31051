"""The secret values this process has read, and the one function that takes them out of text.

Every live client reads its credential with `read_secret` (or hands a value it built, such as
a basic-auth header, to `remember`). Every error message and log line that can carry text from
outside, such as an API error body that echoes the `Authorization` header, passes through
`redact` before a person, a log file or Dagster's event log sees it.
"""

from __future__ import annotations

import base64
import os

MASK = "[redacted]"
# Shorter values would mask ordinary words; no real credential is this short.
_SHORTEST_SECRET = 6
_secrets: set[str] = set()


def remember(value: str | None) -> None:
    """Treat `value` (and its base64 form, as basic auth sends it) as a secret from now on."""
    if value and len(value) >= _SHORTEST_SECRET:
        _secrets.add(value)
        _secrets.add(base64.b64encode(value.encode()).decode())


def read_secret(env_var: str) -> str | None:
    """The credential in `env_var` (None when unset), remembered for `redact`."""
    value = os.environ.get(env_var) or None
    remember(value)
    return value


def redact(text: str) -> str:
    """`text` with every remembered secret replaced by a mask (longest first)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
