"""Match SBOM components to the store's vulnerabilities, in DuckDB, with a confidence per match.

Three ways a component is matched, best first (the ``confidence`` of a match):

- ``exact_purl``: its purl's ecosystem and name equal an OSV record's package, and its version is in one of the
  record's ranges (compared per ecosystem, :mod:`domosec.vulndb.versions`) or listed versions;
- ``cpe_range``: its CPE's vendor and product equal an NVD ``cpeMatch`` and its version is in the match's range;
- ``name_only``: it has no CPE and no purl of a Linux distribution (:data:`DISTRIBUTIONS`), but its name is in
  :data:`CPE_ALIASES` (the firmware components NVD knows under another vendor/product), and its version is in
  an NVD range of that product.

The store is attached read-only to an in-memory database. DuckDB joins the components to the records of
the same package or CPE product (an equi-join, however large the store) and checks the ranges in SQL on
sort keys (:func:`domosec.vulndb.versions.sort_key`: strings whose byte order is the version order, stored
with every bound at import) for generic and PEP 440 versions; the rows of other schemes (SemVer, Debian)
and versions without a sort key are checked in Python with :func:`domosec.vulndb.versions.compare`. DuckDB
then adds severity, CVSS, CISA KEV status and end-of-life dates. A DuckDB Python function doing the
comparison inside the query was measured and rejected: ~70 µs a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domosec.evidence.sbom.components import Component, VexStatement
from domosec.vulndb.store import normal_name, open_store
from domosec.vulndb.versions import compare, sort_key

CPE_ALIASES: dict[str, tuple[str, str]] = {
    "busybox": ("busybox", "busybox"),
    "openssl": ("openssl", "openssl"),
    "libssl": ("openssl", "openssl"),
    "dnsmasq": ("thekelleys", "dnsmasq"),
    "linux": ("linux", "linux_kernel"),
    "linux-kernel": ("linux", "linux_kernel"),
    "kernel": ("linux", "linux_kernel"),
    "curl": ("haxx", "curl"),
    "libcurl": ("haxx", "libcurl"),
    "uclibc": ("uclibc", "uclibc"),
    "uclibc-ng": ("uclibc-ng_project", "uclibc-ng"),
    "musl": ("musl-libc", "musl"),
    "lighttpd": ("lighttpd", "lighttpd"),
    "dropbear": ("dropbear_ssh_project", "dropbear_ssh"),
}
"""Component names (lower case) → NVD CPE vendor and product, for components whose SBOM gives no CPE."""

PURL_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "cargo": "crates.io",
    "maven": "Maven",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "deb": "Debian",
    "apk": "Alpine",
}
DISTRIBUTIONS = frozenset({"Debian", "Ubuntu", "Alpine"})
"""Ecosystems whose packages carry the distribution's backported fixes: their components are matched by purl
against the distribution's own records, never by name against upstream NVD ranges (a false alarm for every
fix the distribution backported); an explicit CPE in the SBOM is still matched."""
SEVERITY_BY_RANK = {1: "critical", 2: "high", 3: "medium", 4: "low", 5: "unknown"}
CONFIDENCE_RANK = {"exact_purl": 0, "cpe_range": 1, "name_only": 2}


@dataclass(frozen=True)
class Match:
    """One vulnerability of one component."""

    component: int
    id: str
    aliases: str
    severity: str
    cvss: float | None
    known_exploited: bool
    fixed_version: str
    confidence: str
    vex_state: str | None = None
    vex_justification: str = ""


@dataclass(frozen=True)
class MatchResult:
    """Every match, each component's end of life, and the store's data date and sources."""

    matches: list[Match]
    end_of_life: dict[int, dt.date]
    data_date: dt.date | None
    sources: str


def component_keys(index: int, c: Component) -> tuple[Any, ...]:
    """The row a component is matched by: index, purl ecosystem and name, version, CPE vendor/product/version."""
    ecosystem = name = ""
    version = c.version
    if c.purl:
        from packageurl import PackageURL

        try:
            purl = PackageURL.from_string(c.purl)
        except ValueError:
            purl = None
        if purl is not None and purl.type in PURL_ECOSYSTEMS:
            ecosystem = PURL_ECOSYSTEMS[purl.type]
            qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
            distro = str(qualifiers.get("distro", ""))
            if purl.type == "deb" and purl.namespace == "ubuntu":
                ecosystem = "Ubuntu"
            if purl.type == "deb" and distro.startswith("debian-"):
                ecosystem = f"Debian:{distro.removeprefix('debian-')}"
            elif purl.type == "apk" and distro.startswith("alpine-"):
                ecosystem = f"Alpine:v{'.'.join(distro.removeprefix('alpine-').split('.')[:2])}"
            sep = ":" if purl.type == "maven" else "/"
            full = (
                f"{purl.namespace}{sep}{purl.name}" if purl.namespace and purl.type in ("maven", "golang", "npm", "composer") else purl.name
            )
            upstream = str(qualifiers.get("upstream", "")).split("@", 1)[0]
            if purl.type == "apk" and upstream:  # a binary package (libssl3) of a source package (openssl): OSV lists the latter
                full = upstream
            name = normal_name(ecosystem, full)
            version = purl.version or version
    vendor = product = cpe_version = ""
    confidence = ""
    fields = c.cpe.split(":") if c.cpe.startswith("cpe:2.3:") else []
    if len(fields) >= 6:
        vendor, product, cpe_version = fields[3], fields[4], fields[5] if fields[5] not in ("*", "-") else c.version
        confidence = "cpe_range"
    elif c.name.lower() in CPE_ALIASES and ecosystem.split(":", 1)[0] not in DISTRIBUTIONS:
        (vendor, product), cpe_version, confidence = CPE_ALIASES[c.name.lower()], c.version, "name_only"
    return (index, ecosystem, ecosystem.split(":", 1)[0], name, version, vendor, product, cpe_version or None, confidence, c.name.lower())


PURL_CANDIDATES = """
with cand as (
  select c.idx, a.vuln_id, a.scheme, c.version, a.introduced, a.fixed, a.last_affected, a.exact,
         a.introduced_key, a.fixed_key, a.last_key, a.exact_key,
         case a.scheme when 'pep440' then c.key_pep440 when 'generic' then c.key_generic end as ck
  from comps c join s.affected a
    on a.name = c.pkg_name and (a.ecosystem = c.ecosystem or (c.ecosystem = c.eco_base and split_part(a.ecosystem, ':', 1) = c.eco_base))
  where c.pkg_name <> '' and c.version <> ''
),
sorted as (
  select *, ck is not null and (exact is null or exact_key is not null)
            and (introduced is null or introduced = '0' or introduced_key is not null)
            and (fixed is null or fixed_key is not null) and (last_affected is null or last_key is not null) as in_sql
  from cand
)
"""

PURL_IN_SQL = (
    "insert into hits "
    + PURL_CANDIDATES
    + """
select idx, vuln_id, coalesce(fixed, ''), 0 from sorted
where in_sql and (
  (exact is not null and ck = exact_key)
  or (exact is null and (introduced = '0' or ck >= introduced_key) and (fixed is null or ck < fixed_key)
      and (last_affected is null or ck <= last_key)))
"""
)

PURL_IN_PYTHON = (
    PURL_CANDIDATES
    + """
select idx, vuln_id, scheme, version, introduced, fixed, last_affected, exact from sorted where not in_sql
"""
)

CPE_IN_SQL = """
insert into hits
select c.idx, r.vuln_id, coalesce(r.end_excl, ''), case when c.cpe_confidence = 'name_only' then 2 else 1 end
from comps c join s.cpe_ranges r on r.vendor = c.vendor and r.product = c.product
where c.cpe_key is not null and (
  (r.exact_key is not null and c.cpe_key = r.exact_key)
  or (r.exact is null
      and (r.start_incl_key is null or c.cpe_key >= r.start_incl_key)
      and (r.start_excl_key is null or c.cpe_key > r.start_excl_key)
      and (r.end_incl_key is null or c.cpe_key <= r.end_incl_key)
      and (r.end_excl_key is null or c.cpe_key < r.end_excl_key)))
"""

ENRICH_SQL = """
with best as (
  select idx, vuln_id, max(fixed) as fixed, min(conf) as conf from hits group by idx, vuln_id
),
aliases as (
  select b.idx, b.vuln_id, unnest(string_split(v.aliases, ',')) as alias
  from best b join s.vuln_best v on v.id = b.vuln_id
  where v.aliases <> ''
),
kev_hits as (
  select distinct ids.idx, ids.vuln_id
  from (select idx, vuln_id, vuln_id as any_id from best union all select idx, vuln_id, alias from aliases) as ids
  join s.kev k on k.cve_id = ids.any_id
),
alias_scores as (
  select a.idx, a.vuln_id, min(n.rank) as rank, max(n.cvss) as cvss
  from aliases a join s.vuln_best n on n.id = a.alias
  group by a.idx, a.vuln_id
)
select b.idx, b.vuln_id, coalesce(v.aliases, ''), coalesce(v.rank, 5), v.cvss, b.fixed, b.conf,
       k.idx is not null, al.rank, al.cvss
from best b
left join s.vuln_best v on v.id = b.vuln_id
left join kev_hits k on k.idx = b.idx and k.vuln_id = b.vuln_id
left join alias_scores al on al.idx = b.idx and al.vuln_id = b.vuln_id
order by b.idx, b.vuln_id
"""


def _in_package_range(scheme: str, version: str, introduced: str | None, fixed: str | None, last: str | None, exact: str | None) -> bool:
    """OSV semantics: a listed version, or introduced <= version < fixed (or <= last_affected)."""
    if exact is not None:
        return compare(scheme, version, exact) == 0
    if introduced not in (None, "0") and compare(scheme, version, introduced) < 0:
        return False
    if fixed is not None and compare(scheme, version, fixed) >= 0:
        return False
    return last is None or compare(scheme, version, last) <= 0


EOL_SQL = """
select c.idx, arg_max(e.eol, length(e.cycle))
from comps c join s.eol e on e.product in (c.lname, c.product)
where starts_with(c.version, e.cycle) and not regexp_matches(substr(c.version, length(e.cycle) + 1, 1), '[0-9]')
group by c.idx
"""


def match_components(components: list[Component], store: Path, vex: list[VexStatement] = ()) -> MatchResult:  # type: ignore[assignment]
    """The vulnerabilities and end-of-life dates of ``components`` in the store at ``store``."""
    import duckdb

    open_store(store).close()  # a clear error if it is not a store
    con = duckdb.connect()
    try:
        con.execute(f"attach '{_sql_text(str(store))}' as s (read_only)")
        keys = [component_keys(i, c) for i, c in enumerate(components)]
        con.execute(
            "create table comps (idx integer, ecosystem varchar, eco_base varchar, pkg_name varchar, version varchar, vendor varchar,"
            " product varchar, cpe_version varchar, cpe_confidence varchar, lname varchar,"
            " key_pep440 varchar, key_generic varchar, cpe_key varchar)"
        )
        if keys:
            _bulk(con, "comps", [(*k, sort_key("pep440", k[4]), sort_key("generic", k[4]), sort_key("generic", k[7])) for k in keys])
        con.execute("create table hits (idx integer, vuln_id varchar, fixed varchar, conf integer)")
        con.execute(PURL_IN_SQL)
        con.execute(CPE_IN_SQL)
        late = [
            (i, vid, fixed or "", 0)
            for i, vid, scheme, v, intro, fixed, last, exact in con.execute(PURL_IN_PYTHON).fetchall()
            if _in_package_range(scheme, v, intro, fixed, last, exact)
        ]
        if late:
            _bulk(con, "hits", late)
        rows = con.execute(ENRICH_SQL).fetchall()
        eol = {int(i): d for i, d in con.execute(EOL_SQL).fetchall() if d is not None}
        meta = dict(con.execute("select key, value from s.meta").fetchall())
    finally:
        con.close()
    matches = _dedupe([_match(row) for row in rows])
    matches = [_with_vex(m, components[m.component], vex) for m in matches]
    data_date = dt.date.fromisoformat(meta["data_date"]) if meta.get("data_date") else None
    return MatchResult(matches, eol, data_date, meta.get("sources", ""))


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _bulk(con: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    lists = [list(col) for col in zip(*rows, strict=True)]
    con.execute(f"insert into {table} select " + ", ".join(f"unnest(${i + 1})" for i in range(len(lists))), lists)


def _match(row: tuple[Any, ...]) -> Match:
    idx, vid, aliases, rank, cvss, fixed, conf, kev, alias_rank, alias_cvss = row
    if rank == 5 and alias_rank is not None:
        rank = alias_rank
    return Match(
        component=int(idx),
        id=vid,
        aliases=aliases,
        severity=SEVERITY_BY_RANK[int(rank)],
        cvss=cvss if cvss is not None else alias_cvss,
        known_exploited=bool(kev),
        fixed_version=fixed,
        confidence=("exact_purl", "cpe_range", "name_only")[int(conf)],
    )


def _dedupe(matches: list[Match]) -> list[Match]:
    """Drop an NVD CVE match when an OSV record of the same component lists that CVE as an alias."""
    aliased: set[tuple[int, str]] = set()
    for m in matches:
        for alias in filter(None, m.aliases.split(",")):
            aliased.add((m.component, alias))
    return [m for m in matches if (m.component, m.id) not in aliased or m.aliases]


def _with_vex(m: Match, c: Component, vex: list[VexStatement]) -> Match:
    ids = {m.id, *filter(None, m.aliases.split(","))}
    for statement in vex:
        if statement.vulnerability in ids and statement.component in ("*", c.purl, c.name, c.ref):
            return Match(**{**m.__dict__, "vex_state": statement.state, "vex_justification": statement.justification})
    return m
