"""configuration.yaml as Home Assistant reads it, and the shipped iot_class table."""

from __future__ import annotations

import json
from pathlib import Path

from domosec.evidence.homeassistant.files import ConfigDir
from domosec.evidence.homeassistant.iot_classes import IntegrationCatalogue, shipped_table
from domosec.evidence.homeassistant.manifest_table import build_table, merge_older, render
from domosec.evidence.homeassistant.yaml_config import Secret, load_configuration
from tests.evidence.homeassistant.helpers import FAMILY


def _write(root: Path, files: dict[str, str]) -> ConfigDir:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return ConfigDir.open(root)


def test_includes_secrets_packages_and_yaml_1_1_booleans(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        {
            "configuration.yaml": "homeassistant:\n  packages: !include_dir_named packages\n"
            "http:\n  use_x_forwarded_for: yes\n  ip_ban_enabled: off\n  ssl_certificate: !secret cert\n"
            "  trusted_proxies: !include_dir_merge_list proxies\n"
            "sensor: !include_dir_list sensors\n",
            "secrets.yaml": "cert: /ssl/cert.pem\nempty: ''\n",
            "packages/garden.yaml": "http:\n  server_port: 8443\nsensor:\n  - platform: template\n",
            "packages/.hidden.yaml": "http:\n  server_port: 1\n",
            "proxies/a.yaml": "- 10.0.0.1\n",
            "proxies/b.yaml": "- 10.0.0.2\n",
            "sensors/one.yaml": "platform: time_date\n",
            "sensors/nested/two.yaml": "platform: uptime\n",
        },
    )
    loaded = load_configuration(config)
    http = loaded.data["http"]
    assert http["use_x_forwarded_for"] is True and http["ip_ban_enabled"] is False
    assert http["ssl_certificate"] == Secret("cert", True)
    assert http["trusted_proxies"] == ["10.0.0.1", "10.0.0.2"]
    assert http["server_port"] == 8443  # merged from the package
    assert loaded.data["sensor"] == [{"platform": "time_date"}, {"platform": "uptime"}, {"platform": "template"}]
    assert "packages/.hidden.yaml" not in loaded.files
    assert loaded.files == [
        "configuration.yaml",
        "packages/garden.yaml",
        "proxies/a.yaml",
        "proxies/b.yaml",
        "sensors/nested/two.yaml",
        "sensors/one.yaml",
    ]


def test_a_secret_is_looked_up_from_the_including_file_upwards(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        {
            "configuration.yaml": "http: !include sub/http.yaml\n",
            "secrets.yaml": "cert: ''\nkey: /ssl/key.pem\n",
            "sub/secrets.yaml": "cert: /ssl/sub-cert.pem\n",
            "sub/http.yaml": "ssl_certificate: !secret cert\nssl_key: !secret key\nssl_peer_certificate: !secret empty_one\n",
        },
    )
    http = load_configuration(config).data["http"]
    assert http["ssl_certificate"] == Secret("cert", True) and http["ssl_key"] == Secret("key", True)
    assert http["ssl_peer_certificate"] == Secret("empty_one", False)
    assert [w.code for w in config.warnings] == ["ha-secret-missing"]


def test_the_shipped_table_names_its_release_and_knows_common_integrations() -> None:
    release, table = shipped_table()
    assert release == "2026.11.0"
    assert table["met"][0] == "cloud_polling" and table["nest"][0] == "cloud_push" and table["mqtt"][0] == "local_push"
    assert table["demo"][0] == "calculated"
    assert table["dominos"][3] == "2024.3.3"  # removed after 2024.3: taken from that release
    assert len(table) > 1500
    catalogue = IntegrationCatalogue(ConfigDir.open(FAMILY))
    ring = catalogue.get("ring")
    assert ring is not None and ring.is_cloud and ring.source == "Home Assistant 2026.11.0 manifest"


def test_a_custom_integration_manifest_wins_over_the_table(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        {"custom_components/hue/manifest.json": json.dumps({"domain": "hue", "name": "Hue (cloud fork)", "iot_class": "cloud_push"})},
    )
    hue = IntegrationCatalogue(config).get("hue")
    assert hue is not None and hue.is_cloud and hue.name == "Hue (cloud fork)"
    assert hue.source.endswith("custom_components/hue/manifest.json")


def test_the_table_generator_reads_manifests_of_a_release(tmp_path: Path) -> None:
    def package(root: Path, version: str, manifests: dict[str, dict[str, str]]) -> Path:
        major, minor, patch = version.split(".")
        (root / "homeassistant").mkdir(parents=True)
        (root / "homeassistant" / "const.py").write_text(
            f'MAJOR_VERSION: Final = {major}\nMINOR_VERSION: Final = {minor}\nPATCH_VERSION: Final = "{patch}"\n'
        )
        for domain, manifest in manifests.items():
            (root / "homeassistant" / "components" / domain).mkdir(parents=True)
            (root / "homeassistant" / "components" / domain / "manifest.json").write_text(json.dumps({"domain": domain, **manifest}))
        return root / "homeassistant"

    new = build_table(
        package(tmp_path / "new", "2030.1.0", {"zeta": {"iot_class": "local_push", "name": "Zeta"}, "alpha": {"iot_class": "cloud_push"}})
    )
    old = build_table(
        package(
            tmp_path / "old",
            "2024.1.2",
            {"gone": {"iot_class": "cloud_polling", "integration_type": "service"}, "alpha": {"iot_class": "local_push"}},
        )
    )
    merge_older(new, old)
    assert new["home_assistant"] == "2030.1.0"
    assert new["integrations"] == {
        "alpha": ["cloud_push", "hub", "alpha"],
        "gone": ["cloud_polling", "service", "gone", "2024.1.2"],
        "zeta": ["local_push", "hub", "Zeta"],
    }
    assert json.loads(render(new)) == new
