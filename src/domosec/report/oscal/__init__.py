"""The Assessment and the catalogue as OSCAL 1.2.3 JSON: catalog, assessment-results and POA&M.

Hand-built from domosec's own typed objects (no OSCAL library at run time); the tests validate every
document against NIST's published JSON schemas. UUIDs and timestamps are derived, never random.
"""

from domosec.report.oscal.catalog import render_catalog
from domosec.report.oscal.common import OSCAL_VERSION
from domosec.report.oscal.poam import render_poam
from domosec.report.oscal.results import render_assessment_results

__all__ = ["OSCAL_VERSION", "render_assessment_results", "render_catalog", "render_poam"]
