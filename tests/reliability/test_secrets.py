"""No secret in the repository or in what the image is built from (issue 7, part 7).

The image's build context is the tracked files minus .dockerignore; the tracked files are
scanned for credentials, and the files that hold them locally (.env, databases) must be
neither tracked nor sent to the image build. `check --deploy` on the production settings
is tests/deploy/test_production_settings.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "password in a URL": re.compile(
        r"\b(?:postgres|postgresql|redis|amqp)://[^:/\s]+:(?!password@|postgres@|change-me|\$\{)[^@\s]{6,}@"
    ),
}
# Placeholders and the embedded default's development key are not secrets.
ALLOWED = ("insecure-embedded-default-key-only-for-local-development",)


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def test_no_credential_is_tracked():
    findings = []
    for path in _tracked():
        file = ROOT / path
        if not file.is_file() or file.suffix in {".png", ".jpg", ".ico", ".woff2"}:
            continue
        text = file.read_text(errors="ignore")
        for name, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                if not any(allowed in match.group(0) for allowed in ALLOWED):
                    findings.append(f"{path}: {name}: {match.group(0)[:40]}")
    assert findings == []


def test_local_secret_files_are_neither_tracked_nor_sent_to_the_image():
    tracked = set(_tracked())
    assert not {".env", "db.sqlite3"} & tracked
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in (".env", ".git", "db.sqlite3*", ".venv"):
        assert needed in ignored, needed
    assert (ROOT / ".gitignore").read_text().count(".env") >= 1


def test_the_development_key_never_reaches_production(monkeypatch):
    """Production reads SECRET_KEY from the environment only: no default to fall back on."""
    settings_text = (ROOT / "dashboard" / "settings" / "production.py").read_text()
    assert 'env_required("SECRET_KEY")' in settings_text
    assert ALLOWED[0] not in settings_text
