"""What user text may be stored: the one rule every door (REST, GraphQL, the services)
applies to names and comments.

Refused: NUL and the other C0 controls but tab and newlines (PostgreSQL cannot store NUL,
and none of them is text a person meant), Unicode's bidirectional embedding, override and
isolate controls (they make text read differently from what it is: "Trojan Source"), and
text of only invisible characters.
"""

from __future__ import annotations

import unicodedata

from dashboard.errors import InvalidInput

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\t\n\r")

# Why a text is refused (a code), and the sentence that says so.
PROBLEMS = {
    "control": "Must not contain control characters.",
    "bidi": "Must not contain bidirectional override characters.",
    "invisible": "Must contain visible text.",
}


def _is_invisible(char: str) -> bool:
    # Cf: format characters (zero-width space/joiners, BOM, word joiner); Z*: separators.
    return char.isspace() or unicodedata.category(char) in {"Cf", "Zs", "Zl", "Zp"}


def text_problem(value: str) -> str | None:
    """Return why ``value`` may not be stored (a key of ``PROBLEMS``), or None."""
    if any((char < " " and char not in _ALLOWED_CONTROLS) or char == "\x7f" for char in value):
        return "control"
    if not BIDI_CONTROLS.isdisjoint(value):
        return "bidi"
    if value and all(_is_invisible(char) for char in value):
        return "invisible"
    return None


def require_clean_text(value: str, *, field: str) -> str:
    """Return ``value``, or raise ``InvalidInput`` naming ``field`` if it may not be stored."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"The {field} is not valid text.", fields={field: [PROBLEMS[problem]]})
    return value
