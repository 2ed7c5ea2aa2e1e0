"""Benchmark: 10,000 SBOM components against >= 500,000 generated vulnerability records (``make bench-sbom``).

Measures, each phase in its own process so peak memory (max RSS) is the phase's own:

- import: reading an OSV ``all.zip`` dump and an NVD CVE 2.0 feed and writing the DuckDB store (``domosec vulndb import``);
- match: :func:`domosec.vulndb.match.match_components` for 10,000 components (PyPI purls and firmware CPEs);
- naive: a per-component Python loop over the same records with the same comparators, on a sample of
  components (a full run would take hours), extrapolated to 10,000; its matches are checked against the
  DuckDB ones for the sampled components.

Data is generated deterministically (seeded) under ``--work`` (default a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SEED = 27403


def generate(work: Path, osv_records: int, nvd_records: int, components: int) -> None:
    """OSV records for PyPI packages, NVD records with CPE ranges, and the components, as files under ``work``."""
    rng = random.Random(SEED)
    packages = [f"pkg-{i:05d}" for i in range(osv_records // 20)]
    products = [(f"vendor{i % 700}", f"product{i:04d}") for i in range(nvd_records // 20)]

    def version() -> str:
        return f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}"

    def ordered() -> tuple[str, str]:
        a, b = version(), version()
        return (a, b) if tuple(map(int, a.split("."))) < tuple(map(int, b.split("."))) else (b, a)

    with zipfile.ZipFile(work / "osv-all.zip", "w", zipfile.ZIP_DEFLATED) as archive:  # as OSV publishes an ecosystem
        for i in range(osv_records):
            low, high = ordered()
            record = {
                "id": f"GHSA-bench-{i:07d}",
                "modified": "2025-06-30T00:00:00Z",
                "aliases": [f"CVE-2099-{i:07d}"],
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": rng.choice(packages)},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": low}, {"fixed": high}]}],
                    }
                ],
                "database_specific": {"severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
            }
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    vulns = []
    for i in range(nvd_records):
        vendor, product = rng.choice(products)
        low, high = ordered()
        match = {
            "vulnerable": True,
            "criteria": f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*",
            "versionStartIncluding": low,
            "versionEndExcluding": high,
        }
        metrics = {"cvssMetricV31": [{"type": "Primary", "cvssData": {"baseScore": 7.5, "baseSeverity": "HIGH"}}]}
        vulns.append(
            {
                "cve": {
                    "id": f"CVE-2098-{i:07d}",
                    "lastModified": "2025-06-30T00:00:00.000",
                    "metrics": metrics,
                    "configurations": [{"nodes": [{"cpeMatch": [match]}]}],
                }
            }
        )
    (work / "nvd.json").write_text(json.dumps({"format": "NVD_CVE", "version": "2.0", "vulnerabilities": vulns}))
    comps = []
    for i in range(components):
        if i % 2:
            name = rng.choice(packages)
            comps.append({"name": name, "version": version(), "purl": f"pkg:pypi/{name}@{version()}", "cpe": ""})
        else:
            vendor, product = rng.choice(products)
            v = version()
            comps.append({"name": product, "version": v, "purl": "", "cpe": f"cpe:2.3:a:{vendor}:{product}:{v}:*:*:*:*:*:*:*"})
    (work / "components.json").write_text(json.dumps(comps))


def _components(work: Path) -> list:  # type: ignore[type-arg]
    from domosec.evidence.sbom.components import Component

    raw = json.loads((work / "components.json").read_text())
    return [Component(ref=str(i), name=c["name"], version=c["version"], purl=c["purl"], cpe=c["cpe"]) for i, c in enumerate(raw)]


def phase_import(work: Path) -> dict[str, float]:
    from domosec.vulndb.feeds import read_nvd, read_osv
    from domosec.vulndb.store import StoreWriter, store_info

    start, cpu = time.perf_counter(), time.process_time()
    with StoreWriter(work / "store.duckdb") as store:  # as `domosec vulndb import` does
        read_osv(work / "osv-all.zip", store, max_bytes=1 << 31)
        read_nvd(work / "nvd.json", store, max_bytes=1 << 31)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    info = store_info(work / "store.duckdb")
    return {
        "seconds": seconds,
        "cpu": cpu,
        "records": float(info["rows_vulns"]),
        "ranges": float(info["rows_affected"]) + float(info["rows_cpe_ranges"]),
    }


def phase_match(work: Path) -> dict[str, float]:
    from domosec.vulndb.match import match_components

    components = _components(work)
    start, cpu = time.perf_counter(), time.process_time()
    result = match_components(components, work / "store.duckdb")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    sample = {(m.component, m.id) for m in result.matches if m.component < 200}
    (work / "duckdb-sample.json").write_text(json.dumps(sorted(sample)))
    return {"seconds": seconds, "cpu": cpu, "components": float(len(components)), "matches": float(len(result.matches))}


def phase_naive(work: Path, sample: int) -> dict[str, float]:
    """Every component against every range, in Python, with the same comparators and rules as the SQL."""
    import duckdb

    from domosec.vulndb.match import component_keys
    from domosec.vulndb.versions import compare

    con = duckdb.connect(str(work / "store.duckdb"), read_only=True)
    affected = con.execute("select vuln_id, ecosystem, name, scheme, introduced, fixed, last_affected, exact from affected").fetchall()
    cpes = con.execute("select vuln_id, vendor, product, exact, start_incl, start_excl, end_incl, end_excl from cpe_ranges").fetchall()
    con.close()
    components = _components(work)[:sample]
    start = time.perf_counter()
    found: set[tuple[int, str]] = set()
    for i, c in enumerate(components):
        _, eco, _, name, version, vendor, product, cpe_version, _, _ = component_keys(i, c)
        for vid, a_eco, a_name, scheme, intro, fixed, last, exact in affected:
            if a_name != name or a_eco != eco or not version:
                continue
            if exact is not None:
                hit = compare(scheme, version, exact) == 0
            else:
                hit = (intro == "0" or compare(scheme, version, intro) >= 0) and (fixed is None or compare(scheme, version, fixed) < 0)
                hit = hit and (last is None or compare(scheme, version, last) <= 0)
            if hit:
                found.add((i, vid))
        for vid, r_vendor, r_product, exact, s_in, s_ex, e_in, e_ex in cpes:
            if r_vendor != vendor or r_product != product or cpe_version is None:
                continue
            v = cpe_version
            if exact is not None:
                hit = compare("generic", v, exact) == 0
            else:
                hit = (s_in is None or compare("generic", v, s_in) >= 0) and (s_ex is None or compare("generic", v, s_ex) > 0)
                hit = hit and (e_in is None or compare("generic", v, e_in) <= 0) and (e_ex is None or compare("generic", v, e_ex) < 0)
            if hit:
                found.add((i, vid))
    seconds = time.perf_counter() - start
    duckdb_sample = {tuple(x) for x in json.loads((work / "duckdb-sample.json").read_text())}
    mine = {x for x in found if x[0] < min(sample, 200)}
    ours = {x for x in duckdb_sample if x[0] < sample}
    return {"seconds": seconds, "sample": float(sample), "same_matches": float(mine == ours), "matches": float(len(found))}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--osv", type=int, default=400_000, help="OSV records to generate")
    parser.add_argument("--nvd", type=int, default=100_000, help="NVD records to generate")
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=20, help="components the naive loop checks")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--phase", choices=["import", "match", "naive"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = {"import": lambda: phase_import(args.work), "match": lambda: phase_match(args.work)}.get(
            args.phase, lambda: phase_naive(args.work, args.naive_sample)
        )()
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="domosec-bench-sbom-"))
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    generate(work, args.osv, args.nvd, args.components)
    print(
        f"generated {args.osv:,} OSV + {args.nvd:,} NVD records and {args.components:,} components in {time.perf_counter() - start:.1f} s ({work})"
    )
    results = {}
    for phase in ("import", "match", "naive"):
        command = [sys.executable, __file__, "--phase", phase, "--work", str(work), "--naive-sample", str(args.naive_sample)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[phase] = json.loads(done.stdout.strip().splitlines()[-1])
    imp, match, naive = results["import"], results["match"], results["naive"]
    per_component = naive["seconds"] / naive["sample"]
    load = os.getloadavg()[0]
    print(
        f"import : {imp['seconds']:.1f} s ({imp['cpu']:.1f} s CPU) for {imp['records']:,.0f} records ({imp['ranges']:,.0f} ranges), peak {imp['peak_mb']:.0f} MB"
    )
    print(
        f"match  : {match['seconds']:.2f} s ({match['cpu']:.2f} s CPU) for {match['components']:,.0f} components, {match['matches']:,.0f} matches, peak {match['peak_mb']:.0f} MB"
    )
    print(
        f"naive  : {per_component * 1000:.0f} ms per component ({naive['sample']:.0f} checked) -> {per_component * args.components / 60:.0f} min "
        f"for {args.components:,}, peak {naive['peak_mb']:.0f} MB; same matches as DuckDB on the sample: {bool(naive['same_matches'])}"
    )
    print(f"target : match <= 2 s: {'met' if match['seconds'] <= 2 else 'NOT met'} (load average {load:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
