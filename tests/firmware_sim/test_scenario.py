import copy
from pathlib import Path

import pytest
import yaml

from firmware_sim.faults import Fault
from firmware_sim.load_profile import Flavour
from firmware_sim.scenario import ScenarioError, load_scenario, parse_scenario
from firmware_sim.scenario_devices import Dlt645Spec, ModbusRtuSpec, Sds011Spec, ct_ratio_for

SCENARIOS = Path(__file__).resolve().parents[2] / "firmware-sim" / "scenarios"

EXAMPLE = """\
site: site-beiyuan-north
seed: 3
devices:
  - {type: pms5003, id: pm-1, period: 1.0, episodes: true}
  - {type: sds011, id: pm-2}
  - {type: modbus_rtu, id: rs485-1, slaves: [{unit: 1, model: sdm630, rated_kw: 400,
     flavour: three_shifts}, {unit: 2, model: sdm120}]}
  - {type: modbus_tcp, id: tcp-1, units: [{unit: 1, model: sdm630, rated_kw: 1200,
     flavour: continuous}]}
  - {type: dlt645, id: meters-1, meters: [{address: "123456789012", rated_kw: 800}]}
timeline:
  - {at: 30, device: pm-1, fault: garbage, for: 10}
  - {at: 60, device: rs485-1/2, fault: silence, for: 30}
  - {at: 90, device: rs485-1/1, fault: counter_reset}
"""
BASE = yaml.safe_load(EXAMPLE)


def test_the_example_of_the_brief_is_a_valid_scenario_with_its_defaults():
    scenario = parse_scenario(BASE)
    assert [d.id for d in scenario.devices] == ["pm-1", "pm-2", "rs485-1", "tcp-1", "meters-1"]
    pm2 = scenario.device("pm-2")
    assert isinstance(pm2, Sds011Spec)
    assert (pm2.type, pm2.period, pm2.episodes) == ("sds011", 1.0, True)
    bus = scenario.device("rs485-1")
    assert isinstance(bus, ModbusRtuSpec)
    assert bus.members() == {"1": "rs485-1-1", "2": "rs485-1-2"}
    assert bus.slaves[0].flavour is Flavour.THREE_SHIFTS
    assert bus.slaves[1].rated_kw is None  # the model's own rating is used
    meters = scenario.device("meters-1")
    assert isinstance(meters, Dlt645Spec)
    assert meters.members() == {"123456789012": "meters-1-123456789012"}
    assert meters.meters[0].transformer_ratio == 300.0  # 1500/5 A for 800 kW
    events = scenario.timeline
    assert [(e.at, e.target, e.fault, e.duration) for e in events] == [
        (30.0, ("pm-1", None), Fault.GARBAGE, 10.0),
        (60.0, ("rs485-1", "2"), Fault.SILENCE, 30.0),
        (90.0, ("rs485-1", "1"), Fault.COUNTER_RESET, None),
    ]
    assert [e.end for e in events] == [40.0, 90.0, 90.0]
    assert scenario.repeat is None


def test_every_scenario_of_the_demo_city_is_valid(tmp_path):
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        scenario = load_scenario(path)
        assert scenario.site == path.stem
        assert {d.type for d in scenario.devices} >= {"modbus_rtu", "modbus_tcp", "dlt645"}
        assert {d.type for d in scenario.devices} & {"pms5003", "sds011"}
        assert scenario.timeline
        assert scenario.repeat is not None


def test_seeds_depend_on_the_scenario_seed_and_the_device_not_on_its_place():
    one = parse_scenario(BASE)
    reordered = copy.deepcopy(BASE)
    reordered["devices"].reverse()
    two = parse_scenario(reordered)
    assert one.seed_of("pm-1") == two.seed_of("pm-1") != one.seed_of("pm-2")
    other_seed = parse_scenario({**BASE, "seed": 4})
    assert other_seed.seed_of("pm-1") != one.seed_of("pm-1")


@pytest.mark.parametrize(
    ("rated_kw", "ratio"),
    [
        (30, 1.0),  # 51 A: a meter connected directly
        (35, 1.0),  # 59 A
        (36, 15.0),  # 61 A: a 75/5 A transformer
        (400, 150.0),  # 673 A: 750/5
        (800, 300.0),  # 1347 A: 1500/5
        (5000, 2000.0),  # 8418 A: 10000/5
    ],
)
def test_current_transformers_are_the_smallest_standard_ones_that_carry_the_load(rated_kw, ratio):
    assert ct_ratio_for(rated_kw) == ratio


def _set(path, value):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _drop(path):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        del node[last]

    return change


def _event(**event):
    return lambda doc: doc["timeline"].append(event)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (_set(["sites"], "x"), "sites", "Extra inputs are not permitted"),
        (_set(["devices"], []), "devices", "at least 1 item"),
        (_set(["devices", 0, "type"], "pms7003"), "devices[0]", "does not match any of"),
        (_drop(["devices", 0, "id"]), "devices[0].id", "Field required"),
        (_set(["devices", 0, "id"], "pm 1"), "devices[0].id", "should match pattern"),
        (_set(["devices", 0, "period"], 0), "devices[0].period", "greater than 0"),
        (_set(["devices", 0, "period"], "1"), "devices[0].period", "valid number"),
        (_set(["devices", 1, "episodes"], "yes"), "devices[1].episodes", "valid boolean"),
        (_set(["devices", 1, "mode"], "query"), "devices[1].mode", "Extra inputs"),
        (
            _set(["devices", 2, "slaves", 1, "model"], "sdm72"),
            "devices[2].slaves[1].model",
            "'sdm120' or 'sdm630'",
        ),
        (
            _set(["devices", 2, "slaves", 0, "unit"], 0),
            "devices[2].slaves[0].unit",
            "or equal to 1",
        ),
        (_set(["devices", 2, "slaves", 1, "unit"], 1), "devices[2].slaves[1].unit", "used twice"),
        (_set(["devices", 2, "slaves"], []), "devices[2].slaves", "at least 1 item"),
        (
            _set(["devices", 3, "units", 0, "rated_kw"], -5),
            "devices[3].units[0].rated_kw",
            "than 0",
        ),
        (
            _set(["devices", 3, "units", 0, "flavour"], "night"),
            "devices[3].units[0].flavour",
            "'two_shifts', 'three_shifts' or 'continuous'",
        ),
        (
            _set(["devices", 4, "meters", 0, "address"], "12345678901"),
            "devices[4].meters[0].address",
            "should match pattern",
        ),
        (  # an unquoted address: YAML reads a number
            _set(["devices", 4, "meters", 0, "address"], 123456789012),
            "devices[4].meters[0].address",
            "valid string",
        ),
        (
            _set(["devices", 4, "meters", 0, "ct_ratio"], 1),
            "devices[4].meters[0].ct_ratio",
            "more than a meter carries",
        ),
        (_set(["devices", 1, "id"], "pm-1"), "devices[1].id", "already used by devices[0]"),
        (  # the later of the two is reported
            _set(["devices", 2, "slaves", 0, "id"], "tcp-1"),
            "devices[3].id",
            "'tcp-1' is already used by devices[2]",
        ),
        (
            _set(["devices", 3, "units", 0, "id"], "rs485-1-2"),
            "devices[3].units[0].id",
            "already used by devices[2]",
        ),
        (_set(["timeline", 0, "device"], "pm-9"), "timeline[0].device", "no device 'pm-9'"),
        (
            _set(["timeline", 1, "device"], "rs485-1/9"),
            "timeline[1].device",
            "rs485-1 has no member 9: one of 1, 2",
        ),
        (_set(["timeline", 0, "device"], "pm-1/1"), "timeline[0].device", "it is not a bus"),
        (_set(["timeline", 0, "device"], "pm-1/"), "timeline[0].device", "should match pattern"),
        (_set(["timeline", 0, "fault"], "flood"), "timeline[0].fault", "Input should be"),
        (_set(["timeline", 0, "fault"], "busy"), "timeline[0].fault", "a pms5003 cannot"),
        (_event(at=1, device="pm-2", fault="counter_reset"), "timeline[3].fault", "sds011"),
        (_event(at=1, device="tcp-1", fault="garbage"), "timeline[3].fault", "modbus_tcp"),
        (_event(at=1, device="tcp-1/1", fault="bad_checksum"), "timeline[3].fault", "cannot"),
        (_set(["timeline", 2, "for"], 5), "timeline[2].for", "counter_reset happens at once"),
        (_set(["timeline", 0, "for"], 0), "timeline[0].for", "greater than 0"),
        (_set(["timeline", 0, "at"], -1), "timeline[0].at", "greater than or equal to 0"),
        (_set(["timeline", 0, "duration"], 5), "timeline[0].duration", "Extra inputs"),
        (_set(["repeat"], 80), "timeline[1].at", "ends at 90 s, after the timeline starts over"),
        (
            lambda doc: (_set(["repeat"], 600)(doc), _drop(["timeline", 0, "for"])(doc)),
            "timeline[0].at",
            "ends at inf s",
        ),
    ],
)
def test_an_invalid_scenario_is_refused_with_the_field_path_and_the_reason(change, field, message):
    document = copy.deepcopy(BASE)
    change(document)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, source="site.yaml")
    problems = {p.field: p.message for p in caught.value.problems}
    assert field in problems, problems
    assert message in problems[field]
    assert f"site.yaml: {field}: " in str(caught.value)


def test_every_problem_is_reported_at_once():
    document = copy.deepcopy(BASE)
    document["devices"][0]["period"] = -1
    document["devices"][2]["slaves"][1]["model"] = "sdm72"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert [p.field for p in caught.value.problems] == [
        "devices[0].period",
        "devices[2].slaves[1].model",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("devices: [", "expected"),  # not YAML
        ("- just a list", "valid dictionary"),
    ],
)
def test_a_file_that_is_no_scenario_is_refused_as_a_whole(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert problem.field == "<document>"
    assert message in problem.message
    assert str(path) in str(caught.value)
