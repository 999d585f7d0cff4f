import math

import pytest

from firmware_sim.cli import build_parser
from firmware_sim.devices.modbus_slave import FaultPlan, Window
from firmware_sim.modbus_cli import MeterSpec, fault_plans


def parse(*argv):
    return build_parser().parse_args(argv)


def test_meters_are_id_model_and_an_optional_rated_load():
    args = parse("modbus-rtu", "--link", "x", "--slave", "1:sdm630", "--slave", "2:sdm120:5.5")
    assert args.meters == [MeterSpec(1, "sdm630", None), MeterSpec(2, "sdm120", 5.5)]
    assert parse("modbus-tcp", "--unit", "247:sdm120").meters == [MeterSpec(247, "sdm120", None)]


@pytest.mark.parametrize(
    "meter", ["1", "1:sdm999", "0:sdm120", "248:sdm120", "1:sdm120:0", "x:sdm120"]
)
def test_bad_meters_are_refused(meter, capsys):
    with pytest.raises(SystemExit):
        parse("modbus-tcp", "--unit", meter)
    assert "--unit" in capsys.readouterr().err


def test_faults_without_an_id_apply_to_every_meter_and_with_one_to_that_meter():
    args = parse(
        *("modbus-rtu", "--link", "x", "--slave", "1:sdm630", "--slave", "2:sdm120"),
        *("--busy-every", "5", "--busy-every", "2:3", "--bad-crc-every", "1:4"),
        *("--silent-slave", "2:10:5", "--silent-slave", "2", "--stuck-slave", "1:30"),
        *("--reset-counter", "1:60", "--garbage-every", "7"),
    )
    assert fault_plans(args) == {
        1: FaultPlan(
            busy_every=5,
            bad_crc_every=4,
            garbage_every=7,
            stuck=(Window(30.0, math.inf),),
            resets=(60.0,),
        ),
        2: FaultPlan(
            busy_every=3,
            garbage_every=7,
            silent=(Window(10.0, 15.0), Window(0.0, math.inf)),
        ),
    }


def test_a_fault_for_a_slave_that_is_not_there_is_an_error():
    args = parse("modbus-tcp", "--unit", "1:sdm630", "--disconnect-every", "3:1")
    with pytest.raises(ValueError, match="slave 3"):
        fault_plans(args)


def test_link_faults_belong_to_their_transport():
    with pytest.raises(SystemExit):
        parse("modbus-tcp", "--unit", "1:sdm630", "--bad-crc-every", "2")
    with pytest.raises(SystemExit):
        parse("modbus-rtu", "--link", "x", "--slave", "1:sdm630", "--disconnect-every", "2")
