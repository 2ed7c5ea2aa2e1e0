"""Version comparison per ecosystem: PEP 440 (``packaging``), SemVer, Debian (dpkg's algorithm) and a generic one.

``compare(scheme, a, b)`` is negative, zero or positive as ``a`` sorts before, with or after ``b``. Where no
library exists the comparators are small and documented here:

- **semver** (npm, Go, crates.io, SEMVER ranges): ``MAJOR.MINOR.PATCH`` compared as numbers, a leading ``v``
  dropped, a pre-release (``-rc.1``) sorts before its release, build metadata (``+…``) ignored.
- **debian** (Debian, Ubuntu): ``[epoch:]upstream[-revision]``, compared as ``dpkg --compare-versions`` does
  (``~`` sorts before everything, letters before other symbols, digit runs as numbers).
- **alpine** (Alpine): ``apk version``'s rules, ported from apk-tools' ``src/version.c``: numbers, one
  letter (``1.2.3b``), ``_alpha``/``_beta``/``_pre``/``_rc`` (before the release) and ``_cvs``/``_svn``/``_git``/
  ``_hg``/``_p`` (after it) suffixes each with an optional number, a ``~hash`` and a ``-rN`` package revision;
  a number with a leading zero compares as text; a version apk calls invalid is compared up to where it
  stops being valid, as apk does.
- **generic** (everything else, CPE versions of firmware components): the version split into runs of digits
  and of letters; digit runs compare as numbers, letter runs as text, a pre-release word (``a``, ``alpha``,
  ``b``, ``beta``, ``rc``, ``pre``, ``preview``, ``dev``) sorts before the release (``1.0rc1`` < ``1.0``) and any
  other letter run after the last number is a patch level (``1.1.1k`` > ``1.1.1``), as OpenSSL, BusyBox and
  dnsmasq number releases.

Each version is parsed once into a comparable key (:func:`version_key`, cached), so comparing the same
versions again costs a tuple comparison.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$")
_RUNS = re.compile(r"\d+|[A-Za-z]+")

SCHEMES = ("pep440", "semver", "debian", "alpine", "generic")

ECOSYSTEM_SCHEMES = {
    "PyPI": "pep440",
    "npm": "semver",
    "Go": "semver",
    "crates.io": "semver",
    "Packagist": "semver",
    "NuGet": "semver",
    "Hex": "semver",
    "Pub": "semver",
    "Debian": "debian",
    "Ubuntu": "debian",
    "Alpine": "alpine",
}


def scheme_for(ecosystem: str, range_type: str = "ECOSYSTEM") -> str:
    """The comparator of an OSV ecosystem (``Debian:12`` → debian) or of a SEMVER range."""
    if range_type == "SEMVER":
        return "semver"
    return ECOSYSTEM_SCHEMES.get(ecosystem.split(":", 1)[0], "generic")


def compare(scheme: str, a: str, b: str) -> int:
    """``a`` against ``b`` under ``scheme`` (versions a scheme cannot parse are compared as generic)."""
    if a == b:
        return 0
    ka, kb = version_key(scheme, a), version_key(scheme, b)
    if ka[0] != kb[0]:  # one of them did not parse under the scheme
        ka, kb = version_key("generic", a), version_key("generic", b)
    if ka[0] == "debian":
        return _debian_compare(ka[1], kb[1])
    if ka[0] == "alpine":
        return _alpine_compare(ka[1], kb[1])
    return int(ka[1] > kb[1]) - int(ka[1] < kb[1])


@functools.lru_cache(maxsize=262_144)
def version_key(scheme: str, v: str) -> tuple[str, Any]:
    """A comparable key of ``v`` under ``scheme``, tagged with the scheme that parsed it (cached: versions repeat)."""
    if scheme == "pep440":
        from packaging.version import InvalidVersion, Version

        try:
            return ("pep440", Version(v))
        except InvalidVersion:
            return ("generic", _generic_key(v))
    if scheme == "semver":
        key = _semver_key(v)
        return ("semver", key) if key is not None else ("generic", _generic_key(v))
    if scheme == "debian":
        return ("debian", _debian_key(v))
    if scheme == "alpine":
        return ("alpine", _alpine_tokens(v))
    return ("generic", _generic_key(v))


def _semver_key(v: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]] | None:
    m = _SEMVER.match(v.strip())
    if m is None:
        return None
    major, minor, patch, pre = int(m[1]), int(m[2] or 0), int(m[3] or 0), m[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


_PRE_RELEASE = frozenset({"a", "alpha", "b", "beta", "rc", "pre", "preview", "dev"})


def _generic_key(v: str) -> tuple[tuple[int, int | str], ...]:
    """Runs of digits (numbers) and letters, then an end mark that sorts after pre-release words
    (``1.0rc1`` < ``1.0``) and before any other letter or number (``1.1.1`` < ``1.1.1k`` < ``1.1.2``)."""
    key: list[tuple[int, int | str]] = []
    for run in _RUNS.findall(v.lower()):
        if run.isdigit():
            key.append((3, int(run)))
        else:
            key.append((0 if run in _PRE_RELEASE else 2, run))
    key.append((1, ""))
    return tuple(key)


def _debian_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


_DEBIAN_RUNS = re.compile(r"(\D*)(\d*)")
_DEBIAN_EMPTY: tuple[tuple[int, ...], int] = ((0,), 0)


def _debian_part(text: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """dpkg's view of an upstream version or revision: (non-digit run, number) pairs, each non-digit run as
    its characters' sort values ending in 0 (``~`` is -1, so it sorts before the end of the string)."""
    pairs = []
    for letters, digits in _DEBIAN_RUNS.findall(text):
        if not letters and not digits:
            continue
        pairs.append(((*(_debian_order(c) for c in letters), 0), int(digits or 0)))
    return tuple(pairs)


def _debian_key(v: str) -> tuple[int, tuple[tuple[tuple[int, ...], int], ...], tuple[tuple[tuple[int, ...], int], ...]]:
    epoch, _, rest = v.partition(":") if ":" in v else ("0", "", v)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
    return (int(epoch) if epoch.isdigit() else 0, _debian_part(upstream), _debian_part(revision))


def _debian_compare(a: Any, b: Any) -> int:
    if a[0] != b[0]:
        return 1 if a[0] > b[0] else -1
    for pa, pb in ((a[1], b[1]), (a[2], b[2])):
        n = max(len(pa), len(pb))
        pa, pb = pa + (_DEBIAN_EMPTY,) * (n - len(pa)), pb + (_DEBIAN_EMPTY,) * (n - len(pb))
        if pa != pb:
            return 1 if pa > pb else -1
    return 0


# apk's version tokens, in the order apk-tools numbers them (a later token kind sorts first when the other ends)
_INITIAL, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _HASH, _REVISION, _END, _INVALID = range(9)
_APK_SUFFIXES = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}
_APK_RELEASE = 4  # suffixes below it are pre-releases
_APK_DIGITS, _APK_WORD, _APK_HEX = re.compile(r"[0-9]*"), re.compile(r"[a-z]*"), re.compile(r"[0-9a-f]*")

_AlpineToken = tuple[int, int, str]  # kind, number (or letter, suffix rank), text


def _alpine_tokens(v: str) -> tuple[_AlpineToken, ...]:
    """apk's tokens of ``v``, ending with an end token, or with an invalid token where ``v`` stops being valid."""
    first = _APK_DIGITS.match(v)
    if first is None or not first[0]:
        return ((_INVALID, 0, ""),)
    tokens: list[_AlpineToken] = [(_INITIAL, int(first[0]), first[0])]
    pos, last = first.end(), _INITIAL
    while pos < len(v):
        c, token = v[pos], None
        if "a" <= c <= "z" and last <= _DIGIT:
            token, pos = (_LETTER, ord(c), c), pos + 1
        elif (c == "." and last <= _DIGIT) or (c.isascii() and c.isdigit() and last in (_INITIAL, _DIGIT, _SUFFIX)):
            digits = _APK_DIGITS.match(v, pos + (c == "."))
            if digits is not None and digits[0]:
                token, pos = (_DIGIT if last <= _DIGIT else _SUFFIX_NO, int(digits[0]), digits[0]), digits.end()
        elif c == "_" and last <= _SUFFIX_NO:
            word = _APK_WORD.match(v, pos + 1)
            if word is not None and word[0] in _APK_SUFFIXES:
                token, pos = (_SUFFIX, _APK_SUFFIXES[word[0]], word[0]), word.end()
        elif c == "~" and last < _HASH:
            hexa = _APK_HEX.match(v, pos + 1)
            if hexa is not None and hexa[0]:
                token, pos = (_HASH, 0, hexa[0]), hexa.end()
        elif c == "-" and last < _REVISION and v.startswith("-r", pos):
            digits = _APK_DIGITS.match(v, pos + 2)
            if digits is not None and digits[0]:
                token, pos = (_REVISION, int(digits[0]), digits[0]), digits.end()
        if token is None:
            return (*tokens, (_INVALID, 0, ""))
        tokens.append(token)
        last = token[0]
    return (*tokens, (_END, 0, ""))


def _alpine_compare(a: tuple[_AlpineToken, ...], b: tuple[_AlpineToken, ...]) -> int:
    """apk-tools' ``apk_version_compare``: token by token while both have the same kind of token."""
    i = 0
    while a[i][0] == b[i][0] and a[i][0] < _END:
        ta, tb = a[i], b[i]
        if ta[0] == _HASH or (ta[0] == _DIGIT and (ta[2][0] == "0" or tb[2][0] == "0")):
            x: int | str = ta[2]  # text order: a hash, or a number with a leading zero
            y: int | str = tb[2]
        else:
            x, y = ta[1], tb[1]
        if x != y:
            return -1 if x < y else 1  # type: ignore[operator]
        i += 1
    ka, kb = a[i][0], b[i][0]
    if ka == kb:
        return 0
    if ka == _SUFFIX and a[i][1] < _APK_RELEASE:
        return -1
    if kb == _SUFFIX and b[i][1] < _APK_RELEASE:
        return 1
    return -1 if ka > kb else 1


def _num(n: int) -> str:
    digits = str(n)
    return f"{len(digits):02d}{digits}"


@functools.lru_cache(maxsize=1_048_576)
def sort_key(scheme: str, v: str | None) -> str | None:
    """A string whose byte order is the version order of :func:`compare`, so DuckDB can check ranges in SQL.

    Given for the generic scheme (always) and PEP 440 (versions that parse, without a local part, mirroring
    ``packaging``'s comparison key); None otherwise, and then the caller compares in Python. Numbers carry
    their length (``1.10`` > ``1.9``), words end in ``\\x01`` (``k`` < ``ka``).
    """
    if v is None:
        return None
    if scheme == "generic":
        out = []
        for run_kind, value in _generic_key(v):
            out.append(f"3{_num(value)}" if isinstance(value, int) else f"{run_kind}{value}\x01" if run_kind != 1 else "1")
        return "".join(out)
    if scheme == "pep440":
        parsed_by, parsed = version_key("pep440", v)
        if parsed_by != "pep440" or parsed.local is not None:
            return None
        release = list(parsed.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        text = _num(parsed.epoch) + "".join(f"1{_num(part)}" for part in release) + "0"
        if parsed.pre is None:
            text += "0" if parsed.post is None and parsed.dev is not None else "2"
        else:
            text += "1" + {"a": "a", "b": "b", "rc": "c"}[parsed.pre[0]] + _num(parsed.pre[1])
        text += "0" if parsed.post is None else f"1{_num(parsed.post)}"
        text += "1" if parsed.dev is None else f"0{_num(parsed.dev)}"
        return text
    return None
