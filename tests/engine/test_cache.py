"""The parse cache of the catalogue and the rules: a hit is never stale, an entry someone else wrote or edited is
never used, and it can be turned off."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from domosec import cache
from domosec.catalog.load import load_catalogue
from domosec.engine.ruleset import builtin_rules_dir, load_rules

CATALOGUE_DATA = Path(__file__).resolve().parents[2] / "src" / "domosec" / "catalog" / "data"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "cache"
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", str(directory))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    load_catalogue.cache_clear()
    yield directory
    load_catalogue.cache_clear()


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A copy of one built-in rule as a rule pack."""
    directory = tmp_path / "pack"
    directory.mkdir()
    source = next(builtin_rules_dir().glob("6.2.3-devices/DEV-S01-*.yaml"))
    shutil.copy(source, directory / source.name)
    return directory / source.name


def _pack_rule_title(pack: Path) -> str:
    return next(r.rule.title for r in load_rules([pack.parent], include_builtin=False))


def test_a_changed_rule_file_is_picked_up(cache_dir: Path, pack: Path) -> None:
    first = _pack_rule_title(pack)
    assert list(cache_dir.glob("rule-*.json")), "the checked rule was cached"
    assert _pack_rule_title(pack) == first  # served from the cache
    pack.write_text(pack.read_text(encoding="utf-8").replace(f"title: {first}", "title: A title changed after caching"), encoding="utf-8")
    assert _pack_rule_title(pack) == "A title changed after caching"


def test_a_changed_rule_query_is_checked_again(cache_dir: Path, pack: Path) -> None:
    from domosec.errors import RuleError

    _pack_rule_title(pack)
    text = pack.read_text(encoding="utf-8")
    pack.write_text(text.replace("from credentials as cred", "from read_csv('/etc/passwd') as cred", 1), encoding="utf-8")
    with pytest.raises(RuleError, match="read_csv"):
        load_rules([pack.parent], include_builtin=False)


def test_a_changed_catalogue_file_is_picked_up(cache_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DATA, data)
    before = load_catalogue(str(data))
    assert list(cache_dir.glob("catalogue-*.json")), "the parsed catalogue was cached"
    item = next(iter(before.data_categories.values()))
    source = next(p for p in sorted(data.glob("*.yaml")) if f"id: {item.id}\n" in p.read_text(encoding="utf-8"))
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace(f"title: {item.title}", "title: Retitled after caching", 1), encoding="utf-8")
    load_catalogue.cache_clear()
    assert load_catalogue(str(data)).data_categories[item.id].title == "Retitled after caching"


def test_another_domosec_version_does_not_share_entries(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pack_rule_title(pack)
    entries = set(cache_dir.glob("rule-*.json"))
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    _pack_rule_title(pack)
    assert set(cache_dir.glob("rule-*.json")) > entries


def _rule_entries(cache_dir: Path) -> list[Path]:
    """The entry of each rule file and the entry of the whole rule directory."""
    entries = sorted(cache_dir.glob("rule-*.json")) + sorted(cache_dir.glob("rules-*.json"))
    assert len(entries) == 2, entries
    return entries


def test_a_rule_directory_is_one_entry_that_is_used(cache_dir: Path, pack: Path) -> None:
    """The whole directory is read from one entry; an entry domosec signed itself is trusted even without the rule's own."""
    _pack_rule_title(pack)
    rule_entry, directory_entry = _rule_entries(cache_dir)
    rule_entry.unlink()
    payload = directory_entry.read_bytes().partition(b"\n")[2]
    data = json.loads(payload)
    data[0]["data"]["title"] = "Served from the directory entry"
    payload = json.dumps(data).encode("utf-8")
    signed = cache._sign(cache._signing_key() or b"", directory_entry.stem, payload)
    directory_entry.write_bytes(b"hmac-sha256:" + signed + b"\n" + payload)
    assert _pack_rule_title(pack) == "Served from the directory entry"
    assert not rule_entry.exists(), "a hit on the directory reads no rule file's entry"


def test_a_directory_with_a_broken_rule_gets_no_entry(cache_dir: Path, pack: Path) -> None:
    from domosec.errors import RuleError

    (pack.parent / "DEV-S99-broken.yaml").write_text("id: DEV-S99\n", encoding="utf-8")
    with pytest.raises(RuleError):
        load_rules([pack.parent], include_builtin=False)
    assert list(cache_dir.glob("rule-*.json")) and not list(cache_dir.glob("rules-*.json"))


def test_a_damaged_entry_is_ignored(cache_dir: Path, pack: Path) -> None:
    title = _pack_rule_title(pack)
    for entry in _rule_entries(cache_dir):
        entry.write_text("{not json", encoding="utf-8")
    assert _pack_rule_title(pack) == title


TAMPERED_QUERY = "select home_id, 'home' as asset_kind, home_id as asset_id, 'x.' as reason from homes where false"


def _edit_entry(entry: Path, old: str, new: str) -> None:
    """Change an entry's content and keep its signature line, as someone who can write the cache directory can."""
    signature, _, payload = entry.read_bytes().partition(b"\n")
    data = json.loads(payload)
    for rule in data if isinstance(data, list) else [data]:
        rule["data"][old] = new
    entry.write_bytes(signature + b"\n" + json.dumps(data).encode("utf-8"))


def test_an_edited_rule_entry_is_not_used(cache_dir: Path, pack: Path) -> None:
    title = _pack_rule_title(pack)
    for entry in _rule_entries(cache_dir):
        _edit_entry(entry, "query", TAMPERED_QUERY)
        _edit_entry(entry, "title", "Tampered")
    [rule] = load_rules([pack.parent], include_builtin=False)
    assert rule.rule.title == title and rule.rule.query != TAMPERED_QUERY


def test_an_entry_signed_with_another_key_is_not_used(cache_dir: Path, pack: Path) -> None:
    title = _pack_rule_title(pack)
    for entry in _rule_entries(cache_dir):
        payload = entry.read_bytes().partition(b"\n")[2].replace(title.encode("utf-8"), b"Forged")
        forged = hmac.new(b"k" * 32, entry.stem.encode("utf-8") + b"\0" + payload, hashlib.sha256).hexdigest()
        entry.write_bytes(b"hmac-sha256:" + forged.encode("ascii") + b"\n" + payload)
    assert _pack_rule_title(pack) == title


def test_an_entry_copied_to_another_key_is_not_used(cache_dir: Path) -> None:
    cache.put("rule-a", {"query": "select 1"})
    (cache_dir / "rule-b.json").write_bytes((cache_dir / "rule-a.json").read_bytes())
    assert (cache.get("rule-a"), cache.get("rule-b")) == ({"query": "select 1"}, None)


def test_the_signing_key_is_private_to_the_user(cache_dir: Path, tmp_path: Path) -> None:
    cache.put("catalogue-x", [1])
    key = tmp_path / "state" / "domosec" / "cache-key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    key.chmod(0o644)  # readable by others: it could be copied, so nothing signed with it is trusted
    cache._KEYS.clear()
    assert cache.get("catalogue-x") is None


def test_off_disables_the_cache(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() is None
    _pack_rule_title(pack)
    load_catalogue.cache_clear()
    load_catalogue(str(CATALOGUE_DATA))
    load_catalogue.cache_clear()
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
