"""A wheel built from the repository carries templates, static files and migrations, and runs."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("conference_companion-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_resources(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())

    for required in ("companion/__init__.py", "companion/templates/base.html", "companion/static/sw.js",
                     "companion/migrations/env.py", "companion/migrations/alembic.ini"):
        assert required in names, required
    assert any(n.startswith("companion/migrations/versions/0001") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "companion = companion.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_wheel_upgrades_a_database_and_serves_pages(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    script = (
        "import companion, sys\n"
        "from companion import create_app\n"
        "assert companion.__file__.startswith(sys.argv[1]), companion.__file__\n"
        "app = create_app({'ENV': 'development', 'INSTANCE_PATH': sys.argv[2]})\n"
        "assert app.template_folder.startswith(sys.argv[1]) and app.static_folder.startswith(sys.argv[1])\n"
        "from flask_migrate import upgrade\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "c = app.test_client()\n"
        "print(c.get('/sw.js').status_code, c.get('/api/v1/health').get_json()['status'], c.get('/schedule').status_code)\n"
    )
    # The wheel's copy comes first on the path; the dependencies come from this environment.
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    env.pop("COMPANION_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-c", script, str(target), str(tmp_path / "instance")],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "ok", "200"]
    assert (tmp_path / "instance" / "companion.sqlite3").exists()
