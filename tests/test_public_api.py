"""The names `import domosec` promises, sorted and importable."""

from __future__ import annotations

import domosec


def test_public_names_are_sorted_and_importable() -> None:
    assert domosec.__all__ == sorted(domosec.__all__)
    for name in domosec.__all__:
        assert getattr(domosec, name) is not None


def test_library_round_trip() -> None:
    model = domosec.load_model("examples/well-kept-home.yaml")
    result = domosec.assess([model], domosec.load_rules())
    assert isinstance(result, domosec.Assessment)
    assert result.homes[0].home_id == model.model.system.id
