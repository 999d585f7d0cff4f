"""Gateway configurations written from simulated fleets, for the demo city and the tests."""

import pytest
import yaml

from devstack.city import CITY
from devstack.gateways import Polling, device_entries, read_endpoints
from devstack.processes import ProcessGroup, wait_until
from devstack.services import Platform
from edge.config import Dlt645Config, ModbusRtuConfig, ModbusTcpConfig, load_config
from firmware_sim.scenario import load_scenario


def platform(tmp_path):
    return Platform(tmp_path, "127.0.0.1", 1883, "http://127.0.0.1:8086", "lantian", "sqlite://")


@pytest.mark.parametrize("site", CITY, ids=lambda s: s.site)
def test_each_site_of_the_city_has_a_scenario_the_edge_can_read_whole(
    tmp_path, site, fleet_factory
):
    scenario = load_scenario(site.scenario_path)
    assert scenario.site == site.site
    fleet = fleet_factory(scenario, record=False)
    endpoints = fleet.endpoints()
    path = platform(tmp_path).gateway_config(site.gateway, endpoints=endpoints)
    config = load_config(path)  # the edge's own validation

    assert config.gateway == site.gateway
    assert [d.id for d in config.devices] == [d.id for d in scenario.devices]
    ids = [i for d in config.devices for i in d.device_ids]
    expected = [d.id for d in scenario.devices if not d.members()]
    expected += [i for d in scenario.devices for i in d.members().values()]
    assert sorted(ids) == sorted(expected)
    by_id = {d["id"]: d for d in endpoints["devices"]}
    for device in config.devices:
        endpoint = by_id[device.id]
        if isinstance(device, ModbusTcpConfig):
            assert (device.host, device.port) == (endpoint["host"], endpoint["port"])
        else:
            assert str(device.port) == endpoint["link"]
        if isinstance(device, ModbusRtuConfig | ModbusTcpConfig):
            members = endpoint["members"]
            assert [(s.unit, s.profile) for s in device.slaves] == [
                (m["unit"], m["model"]) for m in members
            ]
        if isinstance(device, Dlt645Config):
            assert [(m.address, m.ct_ratio) for m in device.meters] == [
                (m["address"], m["ct_ratio"]) for m in endpoint["members"]
            ]
    # the particulate sensor publishes every sample, so the demo shows readings at once
    assert [d.raw for d in config.devices] == [True, False, False, False]


def test_polling_sets_how_each_kind_of_device_is_read(tmp_path, fleet_factory):
    fleet = fleet_factory(load_scenario(CITY[1].scenario_path), record=False)  # an SDS011 site
    fast = Polling(
        raw_meters=True,
        sds011_interval_s=2,
        sds011_warmup_s=0.5,
        sds011_samples=3,
        modbus_interval_s=0.5,
        dlt645_interval_s=0.7,
        timeout_s=0.2,
        retries=0,
    )
    entries = device_entries(fleet.endpoints()["devices"], fast)
    sds, rtu, tcp, dlt = entries
    assert (sds["interval"], sds["warmup"], sds["samples"], sds["raw"]) == (2, 0.5, 3, True)
    assert {s["interval"] for s in rtu["slaves"] + tcp["slaves"]} == {0.5}  # type: ignore[operator]
    assert (rtu["timeout"], rtu["retries"], rtu["raw"]) == (0.2, 0, True)
    assert {m["interval"] for m in dlt["meters"]} == {0.7}  # type: ignore[attr-defined]


def test_the_thin_slice_signature_still_writes_pms5003_sensors_alone(tmp_path):
    link = tmp_path / "dev" / "pm-1"
    path = platform(tmp_path).gateway_config("gw-1", pms5003_links={"pm-1": link}, raw=False)
    [device] = yaml.safe_load(path.read_text())["devices"]
    assert device == {
        "type": "pms5003",
        "id": "pm-1",
        "port": str(link),
        "mode": "active",
        "raw": False,
        "warmup": 0,
    }


def test_a_fleet_process_reports_its_endpoints_in_a_file_of_their_own(tmp_path):
    site = CITY[0]
    plat = platform(tmp_path)
    with ProcessGroup() as group:
        fleet = group.start(plat.fleet(site.scenario_path, site.gateway))
        assert wait_until(lambda: plat.fleet_endpoints(fleet) is not None, timeout_s=15), (
            fleet.log_tail()
        )
        endpoints = plat.fleet_endpoints(fleet)
        assert endpoints is not None
        assert endpoints["site"] == site.site
        assert {d["type"] for d in endpoints["devices"]} == {
            "pms5003",
            "modbus_rtu",
            "modbus_tcp",
            "dlt645",
        }
        assert (tmp_path / "dev" / site.gateway / "pm-1").is_symlink()
        assert fleet.stop() == 0
    assert "fleet site-hengtong-east" in fleet.log_tail()
    assert not (tmp_path / "dev" / site.gateway / "pm-1").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ('{"site": null, "devices": []', None),  # the line is not whole yet
        ('{"site": null, "devices": []}\n', {"site": None, "devices": []}),
    ],
)
def test_endpoints_are_read_once_their_line_is_whole(tmp_path, text, expected):
    path = tmp_path / "fleet.json"
    path.write_text(text)
    assert read_endpoints(path) == expected
    assert read_endpoints(tmp_path / "missing.json") is None
