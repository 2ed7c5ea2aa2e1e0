"""The Assessment as JSON: sorted keys, two-space indent, no timestamps."""

from __future__ import annotations

import json

from domosec.assessment import Assessment


def render_json(assessment: Assessment) -> str:
    return json.dumps(assessment.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
