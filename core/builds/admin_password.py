"""The administrator password of one verification VM: made here, handed to its PUT, then forgotten.

It is never written to the build's state, history, logs, telemetry, events or error texts; nothing but the
VM PUT's body holds it, and `scrub` takes it out of any text that comes back. A lost PUT answer is not
answered with a second password: the step reads the VM first and, when it exists, does not PUT again.
"""

from __future__ import annotations

import secrets
import string

LENGTH = 24
# Specials that need no quoting in JSON, a shell or an unattend file (Windows counts any [\W_] character).
SPECIALS = "!#%*+-.:=?@^_~"
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SPECIALS)
MASK = "[redacted]"


def new_password() -> str:
    """A random password meeting Azure's rules for Windows and Linux VMs: 12-72 characters, at least three
    of lower case, upper case, digit and special character (here all four), no control characters."""
    chosen = [secrets.choice(chars) for chars in _CLASSES]
    everything = "".join(_CLASSES)
    chosen += [secrets.choice(everything) for _ in range(LENGTH - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def meets_azure_rules(password: str) -> bool:
    """Azure's complexity rule for an admin password (REST spec, osProfile.adminPassword): 12 to 72
    characters (the stricter of az CLI's Linux and Windows limits) and three of four character classes."""
    found = (any(c.islower() for c in password), any(c.isupper() for c in password),
             any(c.isdigit() for c in password), any(not c.isalnum() for c in password))
    classes = sum(found)
    printable = all(c.isprintable() and not c.isspace() for c in password)
    return 12 <= len(password) <= 72 and classes >= 3 and printable


def scrub(text: str, password: str | None) -> str:
    """``text`` with every occurrence of ``password`` masked (an error text that might echo a body)."""
    return text.replace(password, MASK) if password else text
