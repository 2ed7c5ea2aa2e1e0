"""No secret of the configuration directory ever appears in what domosec prints or writes.

The fixtures plant secrets everywhere Home Assistant keeps them: password hashes
(auth_provider.homeassistant), refresh tokens and JWT keys (auth), TOTP and notify secrets,
secrets.yaml values, config entry data (API keys, OAuth tokens, MQTT password), Home Assistant
Cloud logins, webhook IDs and PINs. Every string containing SECRET, and every password hash,
is looked for in standard output, standard error and the files written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import ALL_FIXTURES, FAMILY, FIXTURES, copy_fixture, secret_values


def _assert_no_secret(secrets: set[str], *texts: str) -> None:
    assert len(secrets) >= 3
    leaked = sorted(s for s in secrets for text in texts if s in text)
    assert leaked == [], f"secret values in output: {leaked}"


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda p: p.name)
def test_imports_and_assessments_hold_no_secret(fixture: Path, tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    imported = run_cli("import", "homeassistant", fixture, "-o", model)
    to_stdout = run_cli("import", "homeassistant", fixture)
    assessed = run_cli("assess", model, "--format", "json")
    assert imported.returncode == to_stdout.returncode == assessed.returncode == 0, imported.stderr + assessed.stderr
    _assert_no_secret(
        secret_values(fixture),
        model.read_text(encoding="utf-8"),
        imported.stdout + imported.stderr,
        to_stdout.stdout + to_stdout.stderr,
        assessed.stdout + assessed.stderr,
    )


def test_overlay_and_error_paths_hold_no_secret(tmp_path: Path) -> None:
    secrets = secret_values(FAMILY)
    outputs = []
    with_overlay = run_cli("import", "homeassistant", FAMILY, "--overlay", FIXTURES / "overlays" / "family-additions.yaml")
    assert with_overlay.returncode == 0
    outputs.append(with_overlay.stdout + with_overlay.stderr)

    config = copy_fixture(FAMILY, tmp_path)
    (config / "secrets.yaml").write_text("smtp_password: SECRET-SMTP-PASSWORD-0815\n  broken: [SECRET-DB-PASSWORD-4711\n", encoding="utf-8")
    broken_secrets = run_cli("import", "homeassistant", config)
    assert broken_secrets.returncode == 2 and "secrets.yaml" in broken_secrets.stderr
    outputs.append(broken_secrets.stdout + broken_secrets.stderr)

    auth = config / ".storage" / "auth"
    text = auth.read_text(encoding="utf-8")
    auth.write_text(text[: text.index("SECRET-REFRESH-TOKEN-0002") + 30], encoding="utf-8")
    (config / "secrets.yaml").write_text((FAMILY / "secrets.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    truncated = run_cli("import", "homeassistant", config)
    assert truncated.returncode == 2 and "ha-bad-json" in truncated.stderr
    outputs.append(truncated.stdout + truncated.stderr)
    _assert_no_secret(secrets, *outputs)
