"""Shared helpers of the deploy tests: the repository root, a clean environment, free ports."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VENV_BIN = Path(sys.executable).parent
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Return a minimal environment for the production settings (nothing inherited but PATH)."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "dash.example.com,127.0.0.1",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "STATIC_ROOT": str(tmp_path / "static"),
        # The processes of one test share their metrics files, and no other test sees them.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run_python(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
