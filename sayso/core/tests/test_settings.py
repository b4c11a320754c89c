"""Production settings pass Django's deployment checks; Sayso's own checks bite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

from sayso.core.checks import check_secret_key, check_threshold

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "SAYSO_DEBUG": "0",
    "SAYSO_SECRET_KEY": "kQ9#p2Lv8Zm4Rw7Tb1Nc6Yd3Fe5Hg0J-" * 3,
    "SAYSO_ALLOWED_HOSTS": "example.org",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Nothing from the test run leaks in (the root conftest allows async-unsafe calls).
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SAYSO_", "DJANGO_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr


def test_check_deploy_refuses_the_development_key() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SAYSO_SECRET_KEY"}
    result = manage("check", "--deploy", **env)
    assert result.returncode == 1
    assert "sayso.E001" in result.stderr


def test_sayso_checks(settings: Any) -> None:
    settings.DEBUG = True
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    assert check_secret_key(None) == []  # the development key is fine while DEBUG is on
    settings.DEBUG = False
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    assert [e.id for e in check_secret_key(None)] == ["sayso.E001"]
    settings.SECRET_KEY = "a-real-production-key-" * 3
    assert check_secret_key(None) == []
    assert check_threshold(None) == []
    settings.SAYSO = {**settings.SAYSO, "SMALL_GROUP_THRESHOLD": 1}
    assert [e.id for e in check_threshold(None)] == ["sayso.E002"]


@pytest.mark.django_db
def test_checks_pass_with_a_real_secret_key(settings: Any) -> None:
    # Django runs tests with DEBUG off, so the development key would (rightly) fail
    # sayso.E001; with a real key every other check must pass too. Model checks ask the
    # database what it supports (JSONField), so this needs it.
    settings.SECRET_KEY = "a-real-production-like-key-" + "x" * 40
    assert run_checks() == []


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_database() -> None:
    from unittest import mock

    from django.test import Client

    with mock.patch(
        "django.db.migrations.executor.MigrationExecutor.__init__", side_effect=RuntimeError
    ):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def test_exports_dir_names_the_private_export_storage(tmp_path: Path) -> None:
    code = (
        "from sayso.surveys.models import export_storage; s = export_storage(); "
        "print(s.location, oct(s.file_permissions_mode))"
    )
    shared = tmp_path / "shared-exports"
    result = manage("shell", "--no-imports", "-c", code, SAYSO_EXPORTS_DIR=str(shared))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(shared), "0o600"]
    default = manage("shell", "--no-imports", "-c", code)
    assert default.stdout.split() == [str(ROOT / "var" / "exports"), "0o600"]
