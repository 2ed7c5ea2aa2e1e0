"""The SQL that rates a fleet batch's findings and finds the clause-7 items they contradict.

:func:`rating_sql` does for every row of ``fleet_raw`` what :func:`domosec.engine.assess.assess` does for one
finding: the stable ID (the first 16 hex digits of SHA-256 over ``RULE@home@asset[@detail]``), the inherent rating
(matrix, the rule's adjustments, the context factors), the treatment (accepted risks, planned controls) and the
residual rating. :func:`contradicted_sql` gives, per home, the declared statuses the findings or the model
contradict, as the Statement of Applicability decides them.
"""

from __future__ import annotations

from collections.abc import Iterable

from domosec.catalog.load import Catalogue, clause_sort_key
from domosec.engine.rule import UNVERIFIED_LIKELIHOOD_DROP
from domosec.engine.scoring import Matrix
from domosec.engine.soa import APPLICABILITY_CONTEXT

FACTOR_COLUMNS = {
    "safety_actuator": "ctx.is_safety_actuator",
    "private_zone": "ctx.in_private_zone",
    "internet_exposure": "ctx.is_internet_exposed",
    "sensitive_data": "ctx.handles_sensitive_data",
    "vulnerable_users": "hc.has_vulnerable_users",
}


def _clamp(expr: str) -> str:
    return f"greatest(1, least(5, {expr}))"


def rating_sql(matrix: Matrix) -> str:
    """One query over ``fleet_raw``: each row's ID, inherent rating, treatment and residual rating, and its equipment."""
    chosen = []
    for name, factor in matrix.factors.items():
        dims = ", ".join(f"'{d}'" for d in factor.dimensions)
        chosen.append((name, factor, f"(coalesce({FACTOR_COLUMNS[name]}, false) and ru.dimension in ({dims}))"))
    # Which factors apply to a finding is one small number (a bit per factor); its boosts and its list of factor
    # names are looked up in lists made here, instead of every condition being tested three times per finding.
    mask = " + ".join(f"case when {c} then {1 << i} else 0 end" for i, (_, _, c) in enumerate(chosen)) or "0"
    combos = [[f for i, f in enumerate(chosen) if m >> i & 1] for m in range(1 << len(chosen))]
    boost_l = _int_list(min(matrix.max_boost, sum(f.likelihood for _, f, _ in combo)) for combo in combos)
    boost_i = _int_list(min(matrix.max_boost, sum(f.impact for _, f, _ in combo)) for combo in combos)
    names = (
        "["
        + ", ".join("[" + ", ".join(f"'{n}'" for n, _, _ in combo) + "]" if combo else "cast([] as varchar[])" for combo in combos)
        + "]"
    )
    # The matrix as one list literal, indexed by (likelihood - 1) * 5 + impact: a lookup instead of a join per row.
    levels = "[" + ", ".join(f"'{level}'" for row in matrix.levels for level in row) + "]"
    drop = f"case when m.verified then 0 else {UNVERIFIED_LIKELIHOOD_DROP} end"
    # Only assets with a factor set are looked up: an asset that is not in ctx has every factor false, as when it is
    # there with all four false.
    return f"""
with ctx as (
  select home_id, asset_id, bool_or(is_safety_actuator) as is_safety_actuator, bool_or(in_private_zone) as in_private_zone,
    bool_or(is_internet_exposed) as is_internet_exposed, bool_or(handles_sensitive_data) as handles_sensitive_data
  from asset_context
  where is_safety_actuator or in_private_zone or is_internet_exposed or handles_sensitive_data
  group by home_id, asset_id
),
masked as (
  select raw.*, ru.dimension, ru.base_likelihood, ru.base_impact, {mask} as factor_mask
  from fleet_raw as raw
  join fleet_rules as ru on ru.rule_id = raw.rule_id
  left join ctx on ctx.home_id = raw.home_id and ctx.asset_id = raw.asset_id
  left join home_context as hc on hc.home_id = raw.home_id
),
rated as (
  select m.* exclude (base_likelihood, base_impact, factor_mask),
    {_clamp(f"m.base_likelihood + m.likelihood_adjust - {drop} + {boost_l}[m.factor_mask + 1]")} as likelihood,
    {_clamp(f"m.base_impact + m.impact_adjust + {boost_i}[m.factor_mask + 1]")} as impact,
    {names}[m.factor_mask + 1] as factors
  from masked as m
),
acceptance as (
  select raw.rule_id, raw.home_id, raw.asset_id, raw.detail_key,
    arg_min(ar.expires, struct_pack(wildcard := ar.asset = '*', expires := ar.expires, idx := ar.risk_index)) as expires
  from fleet_raw as raw
  join accepted_risks as ar on ar.home_id = raw.home_id and ar.rule = raw.rule_id and (ar.asset = '*' or ar.asset = raw.asset_id)
  group by all
),
-- A planned control lowers every finding of the rules it mitigates in that home: counted per home and rule, from
-- the few planned controls, not per finding.
planned as (
  select c.home_id, rc.rule_id, least(2, count(*)) as reduction
  from controls as c
  join fleet_rule_controls as rc on rc.control_id = c.control_id
  where c.status = 'planned'
  group by all
),
treated as (
  select r.*, acc.expires as acceptance_expires,
    case
      when acc.expires is not null and acc.expires < (select as_of from params) then 'acceptance_expired'
      when acc.expires is not null then 'accepted'
      when coalesce(pl.reduction, 0) > 0 then 'treatment_planned'
      else 'open'
    end as treatment,
    case when acc.expires is null then coalesce(pl.reduction, 0) else 0 end as reduction,
    concat_ws('@', r.rule_id, nullif(r.home_id, ''), nullif(r.asset_id, ''), nullif(r.detail_key, '')) as key
  from rated as r
  left join acceptance as acc
    on acc.rule_id = r.rule_id and acc.home_id = r.home_id and acc.asset_id = r.asset_id and acc.detail_key = r.detail_key
  left join planned as pl on pl.rule_id = r.rule_id and pl.home_id = r.home_id
)
select
  t.home_id, substr(sha256(t.key), 1, 16) as finding_id, t.key, t.rule_id, t.asset_kind, t.asset_id, t.reason, t.explain, t.dimension,
  t.likelihood, t.impact, t.likelihood * t.impact as score, {levels}[(t.likelihood - 1) * 5 + t.impact] as level, t.factors,
  t.residual_likelihood, t.impact as residual_impact, t.residual_likelihood * t.impact as residual_score,
  {levels}[(t.residual_likelihood - 1) * 5 + t.impact] as residual_level,
  t.treatment, t.acceptance_expires,
  eq.vendor as asset_vendor, eq.model as asset_model, eq.firmware as asset_firmware,
  case when t.verified then 'confirmed' else 'unverified' end as confidence
from (select *, {_clamp("likelihood - reduction")} as residual_likelihood from treated) as t
left join equipment as eq on eq.home_id = t.home_id and eq.asset_id = t.asset_id and eq.asset_kind = t.asset_kind
"""


def _int_list(values: Iterable[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def contradicted_sql(cat: Catalogue) -> str:
    """Per home, the clause-7 items whose declared status the findings or the model contradict (as the SoA decides)."""
    controls = sorted(cat.controls.values(), key=lambda c: clause_sort_key(c.id))
    # Each declared status is tested against its own item's condition only: one CASE over the few rows of `controls`,
    # not every condition over every home. Items the catalogue does not know give no row, as the join below requires.
    cases = " ".join(f"when '{c.id}' then coalesce(({c.applicability.when}), false)" for c in controls)
    known = ", ".join(f"'{c.id}'" for c in controls)
    applies = (
        f"select hc.home_id, dc.declared_id as control_id, case dc.declared_id {cases} end as applies "
        f"from (select distinct home_id as declared_home, control_id as declared_id from controls where control_id in ({known})) as dc "
        f"join {APPLICABILITY_CONTEXT} as hc on hc.home_id = dc.declared_home"
    )
    return f"""
with applicability as ({applies}),
open_linked as (
  select distinct f.home_id, rc.control_id
  from fleet_findings as f
  join fleet_rule_controls as rc on rc.rule_id = f.rule_id
  where f.treatment <> 'accepted' and f.confidence = 'confirmed'
)
select c.home_id, c.control_id, c.status as declared
from controls as c
join applicability as a on a.home_id = c.home_id and a.control_id = c.control_id
left join open_linked as ol on ol.home_id = c.home_id and ol.control_id = c.control_id
where (c.status = 'not_applicable' and a.applies)
   or (c.status in ('implemented', 'partial') and ol.control_id is not null)
"""
