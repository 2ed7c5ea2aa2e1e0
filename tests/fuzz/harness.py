"""What every fuzz target shares: the two Hypothesis profiles, input strategies, and the property.

The property of every target: reading any input ends in a result or in domosec's diagnostics
(:class:`domosec.errors.InputError`, which the CLI prints as ``file:line:col: error[code]: …`` and
exits 2 for) — never in another exception, which the CLI would show as a traceback.

Profiles (``DOMOSEC_FUZZ``):

- unset (``make test``): few examples per target, derandomized (the same inputs on every run), no
  example database, so the short run is deterministic and takes a few seconds per target;
- ``long`` (``make fuzz``): random inputs, repeated until ``DOMOSEC_FUZZ_SECONDS`` (default 1800) have
  passed for each target. A failure prints the input and how to reproduce it; save it under
  ``tests/fuzz/corpus/<target>/`` so it is replayed by ``test_corpus.py`` from then on.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domosec.errors import InputError

LONG = os.environ.get("DOMOSEC_FUZZ") == "long"
SECONDS = float(os.environ.get("DOMOSEC_FUZZ_SECONDS", "1800"))

settings.register_profile(
    "domosec-short",
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "domosec-long",
    max_examples=100,  # per round: the time budget is checked between rounds
    derandomize=False,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
PROFILE = settings.get_profile("domosec-long" if LONG else "domosec-short")


def run_target(target: Callable[[], None]) -> None:
    """Run a Hypothesis test function once (short profile) or again and again for the long run's time budget."""
    end = time.monotonic() + SECONDS
    target()
    while LONG and time.monotonic() < end:
        target()


def expect_result_or_diagnostics(action: Callable[[], object]) -> object | None:
    """Run ``action``: a result, or our diagnostics with a code and a message; any other exception fails the test."""
    try:
        return action()
    except InputError as exc:
        assert exc.diagnostics, "an InputError carries at least one diagnostic"
        for d in exc.diagnostics:
            assert d.code and d.message and "Traceback" not in d.message
            d.render()
        return None


SPECIAL_STRINGS = [
    "",
    "0",
    "-1",
    "9223372036854775808",
    "1e999",
    "NaN",
    "2026-02-30",
    "\x1b]8;;https://evil.example/\x07x",
    "[link=https://evil.example/]x",
    "\u202e",
    "\ud800",
    "\x00",
    "a" * 5_000,
    "../../../../etc/passwd",
    "camera",
    "wifi",
    "hall",
    "cam",
    "admin",
    "implemented",
    "select 1",
    "{{ 7*7 }}",
]
SPECIAL_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**400, 1e308, float("inf"), float("-inf"), float("nan"), 0.5, -0.0]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(SPECIAL_STRINGS)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12) | st.sampled_from(SPECIAL_STRINGS), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """One of ``seeds`` (JSON-like data) with one to four nodes replaced, removed, duplicated or wrapped."""
    value = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["tweak", "tweak", "tweak", "tweak", "replace", "delete", "duplicate", "wrap", "retype"]))
        new = draw(json_values)
        if action == "tweak":  # the same type, another value: gets past type checks to the code behind them
            if not path:
                continue
            parent, key = _get(value, path[:-1]), path[-1]
            parent[key] = _tweak(draw, parent[key])
            continue
        if not path:
            value = new if action in ("replace", "retype") else [value] if action == "wrap" else value
            continue
        parent, key = _get(value, path[:-1]), path[-1]
        if action == "replace":
            parent[key] = new
        elif action == "retype":
            old = parent[key]
            parent[key] = str(old) if not isinstance(old, str) else draw(st.sampled_from([*SPECIAL_NUMBERS, None, [], {}]))
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "duplicate" and isinstance(parent, dict):
            parent[f"{key}"] = copy.deepcopy(parent[key])
        else:
            parent[key] = [parent[key]]
    return value


def _tweak(draw: st.DrawFn, old: Any) -> Any:
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return draw(st.sampled_from([v for v in SPECIAL_NUMBERS if isinstance(v, int)]) | st.integers(-3, 10) | st.just(old + 1))
    if isinstance(old, float):
        return draw(st.sampled_from([v for v in SPECIAL_NUMBERS if isinstance(v, float)]) | st.floats())
    if isinstance(old, str):
        return draw(st.sampled_from(SPECIAL_STRINGS) | st.text(max_size=20) | st.just(old + draw(st.sampled_from(SPECIAL_STRINGS))))
    if isinstance(old, list) and old:
        items = list(old)
        i = draw(st.integers(0, len(items) - 1))
        choice = draw(st.sampled_from(["drop", "repeat", "reverse", "empty"]))
        if choice == "drop":
            del items[i]
        elif choice == "repeat":
            items.append(copy.deepcopy(items[i]))
        elif choice == "reverse":
            items.reverse()
        else:
            items = []
        return items
    if isinstance(old, dict) and old:
        items = dict(old)
        del items[draw(st.sampled_from(sorted(items, key=str)))]
        return items
    return draw(json_values)


TEXT_PIECES = [":", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object:os.system ", "\t", "\x00", "'", '"', "\n  ", "\n", "#", "%YAML 1.1\n",
               "---\n", "...\n", "\ufeff", "\x1b", "<<: *a\n", "? ", "|\n", ">-\n", "\\", ",", "0x", "1e9999", "~"]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn, seeds: list[str]) -> str:
    """One of ``seeds`` with one to four edits: a piece inserted, a slice deleted or repeated, random text spliced in."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 200)))
        action = draw(st.sampled_from(["insert", "delete", "repeat", "splice"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(TEXT_PIECES)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[end:]
        elif action == "repeat":
            text = text[:end] + text[at:end] * draw(st.integers(1, 3)) + text[end:]
        else:
            text = text[:at] + draw(st.text(max_size=12)) + text[end:]
    return text


def dumps(value: Any) -> str:
    """JSON text as other tools write it (NaN and Infinity included; lone surrogates as ``\\ud800`` escapes)."""
    return json.dumps(value, default=str)  # dates from YAML as their ISO text
