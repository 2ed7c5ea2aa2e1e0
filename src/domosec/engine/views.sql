-- Views the engine defines over the normalised tables, before any rule runs.
-- Written in the SQL that both DuckDB and Spark accept. Each statement ends with ';'.

-- Gateways and devices together, with the columns they share: one row per piece of equipment.
create or replace view equipment as
select
  gw.home_id, 'gateway' as asset_kind, gw.gateway_id as asset_id, gw.name, gw.vendor, gw.model, gw.firmware,
  gw.zone_id, gw.mac, gw.ip, gw.hostname, gw.update_mechanism, gw.update_signed, gw.update_secure_channel,
  gw.update_automatic_by_default, gw.update_last_update, gw.support_end, gw.physical_debug_ports,
  gw.physical_secure_element, gw.physical_tamper_evident, gw.physical_outdoor, gw.data_at_rest_encrypted,
  gw.data_at_rest_retention_days, gw.factory_reset_available, gw.factory_reset_wipes_personal_data,
  gw.provenance, 'hub' as type, 'high' as tier
from gateways as gw
union all
select
  dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, dev.name, dev.vendor, dev.model, dev.firmware,
  dev.zone_id, dev.mac, dev.ip, dev.hostname, dev.update_mechanism, dev.update_signed, dev.update_secure_channel,
  dev.update_automatic_by_default, dev.update_last_update, dev.support_end, dev.physical_debug_ports,
  dev.physical_secure_element, dev.physical_tamper_evident, dev.physical_outdoor, dev.data_at_rest_encrypted,
  dev.data_at_rest_retention_days, dev.factory_reset_available, dev.factory_reset_wipes_personal_data,
  dev.provenance, dev.type, dev.tier
from devices as dev;

-- Every element a flow can name (users, gateways, devices, services), with the label findings show:
-- its name, or its ID when it has none.
create or replace view element_names as
select usr.home_id, 'user' as element_kind, usr.user_id as element_id, usr.name, coalesce(nullif(usr.name, ''), usr.user_id) as label
from users as usr
union all
select gw.home_id, 'gateway' as element_kind, gw.gateway_id as element_id, gw.name, coalesce(nullif(gw.name, ''), gw.gateway_id) as label
from gateways as gw
union all
select dev.home_id, 'device' as element_kind, dev.device_id as element_id, dev.name, coalesce(nullif(dev.name, ''), dev.device_id) as label
from devices as dev
union all
select svc.home_id, 'service' as element_kind, svc.service_id as element_id, svc.name, coalesce(nullif(svc.name, ''), svc.service_id) as label
from services as svc;

-- Every data category a flow carries, with the flow's ends and the flow facts rules filter on.
-- A third of the rules need a flow's content together with its ends; joining flow_data to flows once
-- per batch here costs less than each of them repeating that join.
create or replace view flow_contents as
select
  fd.home_id, fd.flow_id, fd.category, fd.sensitivity,
  flow.source_id, flow.source_kind, flow.target_id, flow.target_kind,
  flow.encrypted, flow.consent, flow.leaves_home
from flow_data as fd
join flows as flow on flow.home_id = fd.home_id and flow.flow_id = fd.flow_id;

-- Every asset a finding can name, with the context factors the scoring uses.
create or replace view asset_context as
with exposed as (
  select ep.home_id, ep.asset_id
  from endpoints as ep
  where ep.exposure = 'internet'
  union
  select pf.home_id, pf.target_id as asset_id
  from port_forwards as pf
  union
  select gw.home_id, gw.gateway_id as asset_id
  from gateways as gw
  where gw.remote_access = 'direct'
),
sensitive_equipment as (
  select ed.home_id, ed.asset_id
  from equipment_data as ed
  where ed.sensitivity in ('high', 'special')
),
sensitive_flows as (
  select fd.home_id, fd.flow_id
  from flow_data as fd
  where fd.sensitivity in ('high', 'special')
),
-- Both ends of the flows with sensitive content (flow_contents already pairs the content with the ends).
sensitive_services as (
  select fc.home_id, fc.target_id as asset_id
  from flow_contents as fc
  where fc.sensitivity in ('high', 'special')
  union
  select fc.home_id, fc.source_id as asset_id
  from flow_contents as fc
  where fc.sensitivity in ('high', 'special')
),
safety_devices as (
  select dev.home_id, dev.device_id as asset_id
  from devices as dev
  where dev.is_safety_relevant = true
  union
  select act.home_id, act.device_id as asset_id
  from device_actuators as act
  where act.actuator in ('lock', 'door', 'heating', 'oven', 'water_heater', 'valve', 'charger')
)
select
  eq.home_id, eq.asset_kind, eq.asset_id,
  sd.asset_id is not null as is_safety_actuator,
  coalesce(zone.is_private, false) as in_private_zone,
  ex.asset_id is not null as is_internet_exposed,
  se.asset_id is not null as handles_sensitive_data
from equipment as eq
left join (select distinct home_id, asset_id from safety_devices) as sd on sd.home_id = eq.home_id and sd.asset_id = eq.asset_id
left join zones as zone on zone.home_id = eq.home_id and zone.zone_id = eq.zone_id
left join (select distinct home_id, asset_id from exposed) as ex on ex.home_id = eq.home_id and ex.asset_id = eq.asset_id
left join (select distinct home_id, asset_id from sensitive_equipment) as se on se.home_id = eq.home_id and se.asset_id = eq.asset_id
union all
select
  svc.home_id, 'service' as asset_kind, svc.service_id as asset_id,
  false as is_safety_actuator, false as in_private_zone, false as is_internet_exposed,
  ss.asset_id is not null as handles_sensitive_data
from services as svc
left join (select distinct home_id, asset_id from sensitive_services) as ss on ss.home_id = svc.home_id and ss.asset_id = svc.service_id
union all
select
  flow.home_id, 'flow' as asset_kind, flow.flow_id as asset_id,
  false as is_safety_actuator, false as in_private_zone, flow.leaves_home as is_internet_exposed,
  sf.flow_id is not null as handles_sensitive_data
from flows as flow
left join (select distinct home_id, flow_id from sensitive_flows) as sf on sf.home_id = flow.home_id and sf.flow_id = flow.flow_id
union all
select
  zone.home_id, 'zone' as asset_kind, zone.zone_id as asset_id,
  false as is_safety_actuator, zone.is_private as in_private_zone, false as is_internet_exposed, false as handles_sensitive_data
from zones as zone
union all
select
  net.home_id, 'network' as asset_kind, net.network_id as asset_id,
  false as is_safety_actuator, false as in_private_zone, net.kind = 'wan' as is_internet_exposed, false as handles_sensitive_data
from networks as net
union all
select
  usr.home_id, 'user' as asset_kind, usr.user_id as asset_id,
  false as is_safety_actuator, false as in_private_zone, false as is_internet_exposed, usr.is_vulnerable as handles_sensitive_data
from users as usr
union all
select
  h.home_id, 'home' as asset_kind, h.home_id as asset_id,
  false as is_safety_actuator, false as in_private_zone, false as is_internet_exposed, false as handles_sensitive_data
from homes as h;

-- Every safety-relevant device a service exchanges data with, and how: at the other end of one of the
-- service's flows (reached_through 'flow'), or connected through the gateway at that end ('gateway').
-- A flow between two services belongs to its source. Four rules weigh or list these devices; finding
-- them once per batch costs less than each of those rules joining flows, devices and the safety flags.
-- Defined after asset_context, whose safety flag it reads.
create or replace view service_safety_devices as
with service_flows as (
  select flow.home_id, flow.source_id as service_id, flow.target_id as other_id, flow.target_kind as other_kind
  from flows as flow
  where flow.source_kind = 'service'
  union all
  select flow.home_id, flow.target_id as service_id, flow.source_id as other_id, flow.source_kind as other_kind
  from flows as flow
  where flow.target_kind = 'service'
    and flow.source_kind <> 'service'
),
safety_devices as (
  select ctx.home_id, ctx.asset_id as device_id
  from asset_context as ctx
  where ctx.asset_kind = 'device'
    and ctx.is_safety_actuator = true
)
select sf.home_id, sf.service_id, sf.other_id as device_id, 'flow' as reached_through
from service_flows as sf
join safety_devices as sd on sd.home_id = sf.home_id and sd.device_id = sf.other_id
where sf.other_kind = 'device'
union
select sf.home_id, sf.service_id, dev.device_id, 'gateway' as reached_through
from service_flows as sf
join devices as dev on dev.home_id = sf.home_id and dev.gateway_id = sf.other_id
join safety_devices as sd on sd.home_id = dev.home_id and sd.device_id = dev.device_id
where sf.other_kind = 'gateway';

-- One row per home: the facts that decide which clause-7 items apply.
create or replace view home_context as
with user_facts as (
  select
    usr.home_id,
    bool_or(usr.role = 'child' or coalesce(orl.is_child, false)) as has_child_users,
    bool_or(usr.is_vulnerable) as has_vulnerable_users,
    bool_or(usr.role in ('guest', 'domestic_worker', 'tenant', 'carer', 'bystander') or coalesce(orl.is_visitor, false)) as has_guest_users,
    count(*) as user_count
  from users as usr
  -- other roles of the same person (users[].other_roles): a visiting child is a child and a guest
  left join (
    select ur.home_id, ur.user_id,
      bool_or(ur.role = 'child') as is_child,
      bool_or(ur.role in ('guest', 'domestic_worker', 'tenant', 'carer', 'bystander')) as is_visitor
    from user_roles as ur
    group by ur.home_id, ur.user_id
  ) as orl on orl.home_id = usr.home_id and orl.user_id = usr.user_id
  group by usr.home_id
),
device_facts as (
  select
    dev.home_id,
    bool_or(dev.is_child_directed) as has_child_devices,
    bool_or(dev.is_safety_relevant) as has_safety_actuators,
    bool_or(dev.type = 'lock') as has_locks,
    bool_or(dev.type = 'camera') as has_camera_devices,
    bool_or(dev.type = 'voice_assistant') as has_voice_devices,
    bool_or(dev.type = 'health_wearable') as has_health_devices,
    count(*) as device_count
  from devices as dev
  group by dev.home_id
),
sensor_facts as (
  select
    sen.home_id,
    bool_or(sen.sensor = 'camera') as has_camera_sensors,
    bool_or(sen.sensor = 'microphone') as has_microphone_sensors,
    bool_or(sen.sensor in ('fingerprint', 'face')) as has_biometric_sensors
  from device_sensors as sen
  group by sen.home_id
),
service_facts as (
  select
    svc.home_id,
    bool_or(svc.kind <> 'mobile_app') as has_cloud_services,
    bool_or(svc.kind = 'content') as has_content_services,
    bool_or(svc.kind = 'voice_platform') as has_voice_platforms,
    bool_or(svc.kind = 'third_party' or svc.third_party_sharing = true) as has_third_party_services,
    bool_or(svc.kind = 'mobile_app') as has_mobile_apps,
    bool_or(svc.child_directed) as has_child_services
  from services as svc
  group by svc.home_id
),
data_facts as (
  select
    d.home_id,
    bool_or(d.sensitivity in ('high', 'special')) as has_sensitive_data,
    bool_or(d.category = 'biometric') as has_biometric_data,
    bool_or(d.category = 'health') as has_health_data,
    bool_or(d.category = 'children_data') as has_children_data,
    bool_or(d.from_equipment and d.category not in ('telemetry', 'environment')) as has_personal_equipment_data
  from (
    select ed.home_id, ed.category, ed.sensitivity, true as from_equipment from equipment_data as ed
    union all
    select fd.home_id, fd.category, fd.sensitivity, false as from_equipment from flow_data as fd
  ) as d
  group by d.home_id
),
personal_flows as (
  select fd.home_id, count(*) as personal_flow_count
  from flow_data as fd
  where fd.category not in ('telemetry', 'environment')
  group by fd.home_id
),
updatable as (
  select eq.home_id, count(*) as updatable_count
  from equipment as eq
  where eq.update_mechanism is not null and eq.update_mechanism <> 'none'
  group by eq.home_id
)
select
  h.home_id,
  h.kind = 'product' as is_product,
  h.kind = 'deployment' as is_deployment,
  coalesce(uf.has_child_users, false) as has_child_users,
  coalesce(uf.has_vulnerable_users, false) as has_vulnerable_users,
  coalesce(uf.has_guest_users, false) as has_guest_users,
  coalesce(uf.user_count, 0) > 1 as has_multiple_users,
  coalesce(df.has_child_devices, false) or coalesce(svf.has_child_services, false) or coalesce(daf.has_children_data, false) as has_child_devices,
  coalesce(df.has_camera_devices, false) or coalesce(sf.has_camera_sensors, false) as has_cameras,
  coalesce(df.has_voice_devices, false) or coalesce(sf.has_microphone_sensors, false) as has_microphones,
  coalesce(df.has_safety_actuators, false) as has_safety_actuators,
  coalesce(df.has_locks, false) as has_locks,
  exists (select 1 from gateways as gw where gw.home_id = h.home_id) as has_gateway,
  coalesce(svf.has_cloud_services, false) as has_cloud_services,
  coalesce(svf.has_content_services, false) as has_content_services,
  coalesce(svf.has_voice_platforms, false) or coalesce(df.has_voice_devices, false) as has_voice_services,
  coalesce(svf.has_third_party_services, false) as has_third_party_services,
  coalesce(svf.has_mobile_apps, false) as has_mobile_apps,
  exists (select 1 from service_decisions as dec where dec.home_id = h.home_id) as has_automated_decisions,
  coalesce(pf.personal_flow_count, 0) > 0 as has_personal_data_flows,
  -- personal data anywhere: carried by a flow, collected or stored by equipment, or seen by a camera or microphone
  coalesce(pf.personal_flow_count, 0) > 0 or coalesce(daf.has_personal_equipment_data, false)
    or coalesce(df.has_camera_devices, false) or coalesce(sf.has_camera_sensors, false)
    or coalesce(df.has_voice_devices, false) or coalesce(sf.has_microphone_sensors, false) as has_personal_data,
  coalesce(daf.has_sensitive_data, false) as has_sensitive_data,
  coalesce(daf.has_biometric_data, false) or coalesce(sf.has_biometric_sensors, false) as has_biometric_data,
  coalesce(daf.has_health_data, false) or coalesce(df.has_health_devices, false) as has_health_data,
  exists (select 1 from networks as net where net.home_id = h.home_id and net.is_wireless = true) as has_wireless_networks,
  exists (select 1 from asset_context as ac where ac.home_id = h.home_id and ac.is_internet_exposed = true and ac.asset_kind in ('gateway', 'device')) as has_internet_exposure,
  coalesce(up.updatable_count, 0) > 0 as has_updatable_devices,
  coalesce(df.device_count, 0) as device_count,
  coalesce(uf.user_count, 0) as user_count
from homes as h
left join user_facts as uf on uf.home_id = h.home_id
left join device_facts as df on df.home_id = h.home_id
left join sensor_facts as sf on sf.home_id = h.home_id
left join service_facts as svf on svf.home_id = h.home_id
left join data_facts as daf on daf.home_id = h.home_id
left join personal_flows as pf on pf.home_id = h.home_id
left join updatable as up on up.home_id = h.home_id;
