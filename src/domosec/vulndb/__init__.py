"""Offline vulnerability data (OSV, NVD CVE 2.0, CISA KEV, end-of-life table) in one DuckDB store, and matching; docs/sbom.md."""
