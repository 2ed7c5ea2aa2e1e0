"""``configuration.yaml`` as Home Assistant reads it: includes, secrets and packages.

- ``!include``, ``!include_dir_list``, ``!include_dir_named``, ``!include_dir_merge_list`` and
  ``!include_dir_merge_named`` read files relative to the including file, and only inside the
  configuration directory (anything else is refused with the position of the tag); a missing
  folder is empty, as in Home Assistant, and a missing file is empty with a warning at its tag;
- ``!secret name`` becomes a :class:`Secret` that says whether a value is set; the value itself
  is dropped as soon as ``secrets.yaml`` is parsed and never reaches the model or any output;
- ``homeassistant: packages:`` are merged into the top level as Home Assistant does;
- scalars follow YAML 1.1 like Home Assistant's loader (``yes`` and ``on`` are true);
- a file ruamel.yaml refuses is composed again with PyYAML, Home Assistant's own reader, when it is installed;
- with no secrets.yaml at all, one warning counts the ``!secret`` references; a secrets.yaml encrypted with
  git-crypt is a warning and its secrets are taken as set.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.homeassistant.files import ConfigDir, HomeAssistantInputError, problem

MAX_NODES = 1_000_000
MAX_DEPTH = 64
MAX_FILES = 10_000
_STD = "tag:yaml.org,2002:"
_TRUE = {"yes", "true", "on", "y"}
_FALSE = {"no", "false", "off", "n"}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+)$")


@dataclass(frozen=True)
class Secret:
    """A ``!secret`` (or ``!env_var``) reference: its name and whether it resolves; never its value."""

    name: str
    is_set: bool


@dataclass
class HaYaml:
    """The merged configuration and the files it was read from."""

    data: dict[str, Any]
    files: list[str] = field(default_factory=list)


def load_configuration(config: ConfigDir) -> HaYaml:
    """Read ``configuration.yaml`` with its includes; an absent file gives an empty configuration (with a warning)."""
    if not config.exists("configuration.yaml"):
        config.warn(
            config.show("configuration.yaml"),
            "ha-no-configuration",
            "no configuration.yaml; HTTP settings, authentication modules and packages are taken as Home Assistant's defaults",
        )
        return HaYaml({})
    loader = _Loader(config)
    data = loader.load_file("configuration.yaml", referrer="", position=None)
    loader.note_unresolved_secrets()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise problem(config.show("configuration.yaml"), "ha-bad-yaml", "the top level must be a mapping of integrations")
    _merge_packages(config, data)
    return HaYaml(data, sorted(loader.files))


class _Loader:
    def __init__(self, config: ConfigDir) -> None:
        self.config = config
        self.stack: list[str] = []
        self.files: set[str] = set()
        self.nodes = 0
        self.secrets: dict[str, dict[str, bool]] = {}
        self.encrypted: set[str] = set()
        self.unresolved: list[tuple[str, str]] = []
        """Secrets referenced where no secrets.yaml exists at all: (position, name), reported in one warning."""

    def load_file(self, relative: str, *, referrer: str, position: tuple[int, int] | None) -> Any:
        if relative in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(relative) :], relative])
            raise problem(referrer or self.config.show(relative), "ha-include-cycle", f"includes form a cycle: {chain}", position=position)
        if len(self.files) >= MAX_FILES:
            raise problem(referrer, "ha-too-many-files", f"more than {MAX_FILES:,} YAML files are included", position=position)
        text = self.config.read_text(relative, referrer=referrer, position=position)
        self.files.add(relative)
        self.stack.append(relative)
        try:
            root = self._compose(text, relative)
            return None if root is None else self._value(root, relative, 0)
        finally:
            self.stack.pop()

    def _compose(self, text: str, relative: str) -> Any:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        yaml = YAML(typ="safe", pure=True)
        yaml.version = (1, 1)
        try:
            return yaml.compose(text)
        except MarkedYAMLError as exc:
            lenient = _compose_as_home_assistant(text)
            if lenient is not None:
                return lenient
            mark = exc.problem_mark or exc.context_mark
            where = (mark.line + 1, mark.column + 1) if mark else None
            raise problem(
                self.config.show(relative), "ha-bad-yaml", f"invalid YAML: {exc.problem or exc.context}", position=where
            ) from None
        except YAMLError as exc:
            raise problem(self.config.show(relative), "ha-bad-yaml", f"invalid YAML: {' '.join(str(exc).split())}") from None
        except RecursionError:
            raise problem(
                self.config.show(relative), "ha-yaml-too-large", f"the configuration nests deeper than {MAX_DEPTH} levels"
            ) from None

    def _value(self, node: Any, relative: str, depth: int) -> Any:
        self.nodes += 1
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if self.nodes > MAX_NODES:
            raise problem(
                self.config.show(relative),
                "ha-yaml-too-large",
                f"the configuration expands to more than {MAX_NODES:,} nodes",
                position=where,
            )
        if depth > MAX_DEPTH:
            raise problem(
                self.config.show(relative), "ha-yaml-too-large", f"the configuration nests deeper than {MAX_DEPTH} levels", position=where
            )
        tag = node.tag or ""
        if tag.startswith("!"):
            return self._tagged(tag, node, relative, where)
        if node.id == "mapping":  # a node of ruamel.yaml or of PyYAML (_compose_as_home_assistant)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _STD + "merge":
                    merged = self._value(value_node, relative, depth + 1)
                    for part in merged if isinstance(merged, list) else [merged]:
                        if isinstance(part, dict):
                            for k, v in part.items():
                                out.setdefault(k, v)
                    continue
                key = self._value(key_node, relative, depth + 1)
                out[str(key)] = self._value(value_node, relative, depth + 1)
            return out
        if node.id == "sequence":
            return [self._value(item, relative, depth + 1) for item in node.value]
        return _scalar(node.value, tag)

    def _tagged(self, tag: str, node: Any, relative: str, where: tuple[int, int]) -> Any:
        shown = self.config.show(relative)
        value = str(node.value) if isinstance(node.value, str) else ""
        if tag == "!secret":
            return Secret(value, self._secret_is_set(relative, value, where))
        if tag == "!env_var":
            return Secret(f"env:{value.split()[0] if value.split() else value}", True)
        if tag == "!input":
            return None
        if tag == "!include":
            target = self._inside(relative, value, where)
            if not self.config.exists(target):
                self.config.warn(
                    f"{shown}:{where[0]}:{where[1]}",
                    "ha-include-missing",
                    f"the included file '{value}' does not exist; its part of the configuration is taken as empty",
                    hint="often a file kept out of version control; Home Assistant itself would refuse this configuration",
                )
                return {}
            loaded = self.load_file(target, referrer=shown, position=where)
            return {} if loaded is None else loaded
        if tag.startswith("!include_dir_"):
            return self._include_dir(tag, relative, value, where)
        raise problem(shown, "ha-bad-yaml", f"unknown tag '{tag}'", position=where)

    def _inside(self, relative: str, value: str, where: tuple[int, int]) -> str:
        if not value:
            raise problem(self.config.show(relative), "ha-bad-yaml", "an include names no file", position=where)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(relative), value))
        if posixpath.isabs(value) or target == ".." or target.startswith("../"):
            raise problem(
                self.config.show(relative),
                "ha-outside-config",
                f"the include '{value}' points outside the configuration directory; it is not read",
                position=where,
            )
        return target

    def _include_dir(self, tag: str, relative: str, value: str, where: tuple[int, int]) -> Any:
        shown = self.config.show(relative)
        directory = self._inside(relative, value, where)
        if not self.config.exists(directory):
            # Home Assistant treats a missing folder as empty (git does not keep empty folders).
            self.config.warn(
                f"{shown}:{where[0]}:{where[1]}",
                "ha-include-dir-missing",
                f"the folder '{value}' does not exist; taken as empty, as Home Assistant does",
            )
            return [] if tag.endswith("_list") else {}
        real = self.config.resolve(directory, referrer=shown, position=where)
        files: list[str] = []
        for top, dirs, names in os.walk(real, topdown=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = os.path.relpath(top, self.config.root)
            for name in sorted(names):
                if not name.startswith(".") and fnmatch.fnmatch(name, "*.yaml") and name != "secrets.yaml":
                    files.append(posixpath.normpath(posixpath.join(base.replace(os.sep, "/"), name)))
        loaded = [(name, self.load_file(name, referrer=shown, position=where)) for name in files]
        if tag == "!include_dir_list":
            return [item for _, item in loaded if item is not None]
        if tag == "!include_dir_merge_list":
            return [entry for _, item in loaded if isinstance(item, list) for entry in item]
        if tag == "!include_dir_named":
            return {posixpath.splitext(posixpath.basename(name))[0]: ({} if item is None else item) for name, item in loaded}
        if tag == "!include_dir_merge_named":
            merged: dict[str, Any] = {}
            for _, item in loaded:
                if isinstance(item, dict):
                    merged.update(item)
            return merged
        raise problem(shown, "ha-bad-yaml", f"unknown tag '{tag}'", position=where)

    def _secret_is_set(self, relative: str, name: str, where: tuple[int, int]) -> bool:
        directory = posixpath.dirname(relative)
        while True:
            names = self._secret_names(posixpath.join(directory, "secrets.yaml") if directory else "secrets.yaml")
            if name in names:
                return names[name]
            if not directory:
                break
            directory = posixpath.dirname(directory)
        chain = self._secret_files(relative)
        if any(f in self.encrypted for f in chain):
            return True  # defined, most likely, in a secrets.yaml that git-crypt keeps unreadable: taken as set
        position = f"{self.config.show(relative)}:{where[0]}:{where[1]}"
        if not any(self.config.exists(f) for f in chain):
            self.unresolved.append((position, name))
            return False
        self.config.warn(position, "ha-secret-missing", f"the secret '{name}' is not defined in any secrets.yaml; taken as not set")
        return False

    @staticmethod
    def _secret_files(relative: str) -> list[str]:
        """The secrets.yaml files Home Assistant looks in for a file's secrets: its folder, then each folder above."""
        directory, chain = posixpath.dirname(relative), []
        while True:
            chain.append(posixpath.join(directory, "secrets.yaml") if directory else "secrets.yaml")
            if not directory:
                return chain
            directory = posixpath.dirname(directory)

    def note_unresolved_secrets(self) -> None:
        """One warning for every secret referenced without any secrets.yaml (published configurations leave it out)."""
        if self.unresolved:
            first, _ = self.unresolved[0]
            names = sorted({name for _, name in self.unresolved})
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            self.config.warn(
                first,
                "ha-secret-missing",
                f"there is no secrets.yaml, so the {len(self.unresolved)} !secret reference(s) ({shown}) are taken as not set",
                hint="often kept out of version control; settings that depend on a secret (a certificate, a password) may be missed",
            )

    def _secrets_text(self, relative: str) -> str | None:
        """The text of a secrets.yaml, or None when it is absent or encrypted with git-crypt (then with a warning)."""
        if not self.config.exists(relative):
            return None
        try:
            return self.config.read_text(relative)
        except HomeAssistantInputError as exc:
            if exc.diagnostics[0].code != "ha-encrypted":
                raise
        self.encrypted.add(relative)
        self.config.warn(
            self.config.show(relative),
            "ha-secrets-encrypted",
            "is encrypted with git-crypt; the secrets it names are taken as set",
            hint="run 'git-crypt unlock' in the repository to read which are set",
        )
        return None

    def _secret_names(self, relative: str) -> dict[str, bool]:
        """Which secrets a secrets.yaml defines and whether each is non-empty; the values are discarded here."""
        if relative not in self.secrets:
            names: dict[str, bool] = {}
            text = self._secrets_text(relative)
            if text is not None:
                root = self._compose(text, relative)
                if root is not None and hasattr(root, "value") and isinstance(root.value, list):
                    for key_node, value_node in root.value:
                        raw = value_node.value
                        names[str(key_node.value)] = not (raw is None or raw == "" or raw == [] or value_node.tag == _STD + "null")
                del text, root
            self.secrets[relative] = names
        return self.secrets[relative]


def _compose_as_home_assistant(text: str) -> Any:
    """The YAML node tree as Home Assistant's own reader (PyYAML's SafeLoader) composes it, or None.

    Used only where ruamel.yaml refuses a file: PyYAML is more lenient in places (``{a:[1, 2]}`` in a flow
    mapping is ``a: [1, 2]`` to it), and Home Assistant falls back to it when its C loader fails too. PyYAML
    comes with the ``homeassistant`` extra; without it the file is refused as ruamel.yaml found it.
    """
    try:
        import yaml as pyyaml  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return pyyaml.compose(text, Loader=pyyaml.SafeLoader)
    except (pyyaml.YAMLError, RecursionError):
        return None


def _scalar(value: str, tag: str) -> Any:
    kind = tag[len(_STD) :] if tag.startswith(_STD) else "str"
    if kind == "null":
        return None
    if kind == "bool":
        low = value.lower()
        return True if low in _TRUE else False if low in _FALSE else value
    if kind == "int" and _INT.match(value):
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return int(value.replace("_", ""), 8) if value.lstrip("+-").startswith("0") else value
    if kind == "float":
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value


def _merge_packages(config: ConfigDir, data: dict[str, Any]) -> None:
    core = data.get("homeassistant")
    packages = core.get("packages") if isinstance(core, dict) else None
    if not isinstance(packages, dict):
        return
    for name in sorted(packages):
        package = packages[name]
        if not isinstance(package, dict):
            config.warn(config.show("configuration.yaml"), "ha-bad-package", f"package '{name}' is not a mapping; skipped")
            continue
        for domain, conf in package.items():
            current = data.get(domain)
            if domain not in data or current is None:
                data[domain] = conf
            elif isinstance(current, dict) and isinstance(conf, dict):
                data[domain] = {**current, **conf}
            elif isinstance(current, list) and isinstance(conf, list):
                data[domain] = current + conf
            elif isinstance(current, list):
                data[domain] = [*current, conf]
