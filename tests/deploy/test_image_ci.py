"""The image in CI: `.ci/run` builds and smoke-tests it through `.ci/image`, `make image`
builds it the same way, and a machine where podman cannot run skips with one clear line.

The build and the smoke test themselves run in `.ci/image` (minutes, root, podman); these
tests check the wiring and the skip, which must never fail a run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.deploy.helpers import ROOT

IMAGE_SCRIPT = ROOT / ".ci" / "image"


def test_ci_run_calls_the_image_script_after_the_test_runs():
    run = (ROOT / ".ci" / "run").read_text()
    assert run.rstrip().endswith(".ci/image")
    assert run.index("make test-py") < run.rindex(".ci/image")


def test_make_image_builds_with_the_ci_script():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^image: .*## .+\n\t\.ci/image build$", makefile, re.M)


def test_the_image_script_builds_as_the_container_notes_say():
    script = IMAGE_SCRIPT.read_text()
    assert os.access(IMAGE_SCRIPT, os.X_OK)
    assert 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' in script
    assert 'runtime = "runc"' in script
    assert "libpython3.11-dev" in script and "--variant=minbase" in script
    assert "podman build --pull=never --network host --format docker" in script
    # The CA bundle is mounted for the RUN steps, never copied into the image.
    assert '-v "$ca:$ca:ro"' in script
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "base=$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile" in script
    assert re.search(r"^ARG PYTHON_IMAGE=\S+$", dockerfile, re.M)


def test_every_wait_of_the_image_script_is_bounded():
    script = IMAGE_SCRIPT.read_text()
    for line in script.splitlines():
        stripped = line.strip()
        if re.match(
            r"(podman (build|import|info)|debootstrap |apt-get install|\"\$PYTHON\")", stripped
        ):
            raise AssertionError(f"unbounded: {stripped}")
    smoke = (ROOT / ".ci" / "image_smoke.py").read_text()
    assert "timeout=" in smoke and "def wait_until" in smoke


def _minimal_path(tmp_path: Path) -> str:
    """A PATH with the shell tools the script needs, and no podman, runc or apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id", "sed", "head", "timeout", "cat", "mkdir", "dirname", "tail"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_without_podman_and_no_way_to_install_it_the_script_skips_with_one_line(tmp_path):
    result = subprocess.run(
        [str(bash := shutil.which("bash")), str(IMAGE_SCRIPT)],
        env={"PATH": _minimal_path(tmp_path), "IMAGE_WORK": str(tmp_path / "work")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bash
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("== image: SKIPPED: "), result.stdout
    assert "podman" in lines[0]
