from datetime import UTC, datetime

import pytest

from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave, Window
from firmware_sim.eastron import SDM120, SDM630, Setting, decode_float, encode_float
from firmware_sim.meters import SimulatedMeter
from firmware_sim.modbus import (
    FunctionCode,
    parse_read_response,
    read_request,
    write_request,
)

H = bytes.fromhex
READ_VOLTAGE = read_request(FunctionCode.READ_INPUT_REGISTERS, 0x0000, 2)
READ_IMPORT = read_request(FunctionCode.READ_INPUT_REGISTERS, 0x0048, 2)
START = datetime(2024, 3, 5, 2, tzinfo=UTC).timestamp()


class Clocks:
    """A wall clock and a monotonic clock that move together."""

    def __init__(self):
        self.elapsed = 0.0

    def wall(self):
        return START + self.elapsed

    def monotonic(self):
        return self.elapsed


def make_slave(register_map=SDM120, unit=1, faults=None, clocks=None):
    clocks = clocks or Clocks()
    meter = SimulatedMeter(register_map, seed=unit, refresh_s=0.0, clock=clocks.wall)
    slave = ModbusSlave(unit, meter, faults=faults, monotonic=clocks.monotonic, clock=clocks.wall)
    return slave, clocks


def test_read_answer_carries_the_registers_and_a_record_of_the_decoded_values():
    slave, _ = make_slave()
    answer = slave.answer(READ_VOLTAGE)
    registers = parse_read_response(answer.pdu)
    assert answer.pdu[:2] == H("04 04")
    record = answer.record
    assert record["unit"] == 1
    assert record["function"] == 4
    assert record["address"] == 0
    assert record["registers"] == list(registers)
    assert record["ts"] == int(START * 1000)
    [value] = record["values"]
    assert value["name"] == "voltage"
    assert value["value"] == decode_float(*registers)
    assert 220 < value["value"] < 240
    assert (answer.bad_crc, answer.garbage, answer.disconnect) == (False, b"", False)


@pytest.mark.parametrize(
    ("pdu", "reply"),
    [
        ("04 0002 0002", "84 02"),  # nothing at 0x0002 on an SDM120
        ("05 0001 FF00", "85 01"),  # write single coil: not a meter's function
        ("06 001C 0000", "86 01"),  # Eastron settings are written whole with FC16
        ("04 0000 0000", "84 03"),
        ("10 0014 0002 04 4380 0000", "90 03"),  # slave id 256
        ("2B 0E 01 00", "AB 01"),
    ],
)
def test_bad_requests_get_exception_replies_that_are_recorded(pdu, reply):
    slave, _ = make_slave()
    answer = slave.answer(H(pdu))
    assert answer.pdu == H(reply)
    assert answer.record["exception"] == H(reply)[1]
    assert slave.counters.exceptions == 1


def test_holding_registers_are_read_and_written_as_floats():
    slave, _ = make_slave(SDM630, unit=9)
    read = read_request(FunctionCode.READ_HOLDING_REGISTERS, 0x0014, 2)
    assert parse_read_response(slave.answer(read).pdu) == encode_float(9.0)
    answer = slave.answer(write_request(0x001C, encode_float(4.0)))
    assert answer.pdu == H("10 001C 0002")
    assert answer.record["values"] == [{"address": 0x1C, "name": "baud_rate", "value": 4.0}]
    assert slave.settings[Setting.BAUD_RATE] == 4.0
    assert slave.unit == 9  # a new id or baud rate applies after a power cycle


def test_busy_every_n_answers_every_nth_request_with_exception_06():
    slave, _ = make_slave(faults=FaultPlan(busy_every=3))
    replies = [slave.answer(READ_VOLTAGE).pdu[:2] for _ in range(7)]
    assert replies == [H("04 04"), H("04 04"), H("84 06")] * 2 + [H("04 04")]
    assert slave.counters.busy == 2


def test_link_faults_mark_every_nth_answer():
    slave, _ = make_slave(faults=FaultPlan(bad_crc_every=2, garbage_every=3, disconnect_every=4))
    answers = [slave.answer(READ_VOLTAGE) for _ in range(6)]
    assert [a.bad_crc for a in answers] == [False, True, False, True, False, True]
    assert [bool(a.garbage) for a in answers] == [False, False, True, False, False, True]
    assert all(1 <= len(a.garbage) <= 8 for a in answers[2::3])
    assert [a.disconnect for a in answers] == [False, False, False, True, False, False]


def test_silent_windows_leave_requests_unanswered_and_on_demand_silence_too():
    slave, clocks = make_slave(faults=FaultPlan(silent=(Window(1.0, 2.0),)))
    assert slave.answer(READ_VOLTAGE) is not None
    clocks.elapsed = 1.0
    assert slave.answer(READ_VOLTAGE) is None
    clocks.elapsed = 2.0
    assert slave.answer(READ_VOLTAGE) is not None
    slave.silence(0.5)
    assert slave.answer(READ_VOLTAGE) is None
    clocks.elapsed = 2.5
    assert slave.answer(READ_VOLTAGE) is not None
    assert slave.counters.silenced == 2
    assert slave.counters.requests == 5


def test_stuck_windows_freeze_the_registers():
    slave, clocks = make_slave(faults=FaultPlan(stuck=(Window(10.0, 20.0),)))

    def read():
        return parse_read_response(slave.answer(READ_IMPORT).pdu)

    clocks.elapsed = 10.0
    stuck = read()
    clocks.elapsed = 19.0
    assert read() == stuck
    clocks.elapsed = 30.0
    assert read() != stuck


def test_scheduled_counter_resets_happen_once_at_their_time():
    slave, clocks = make_slave(faults=FaultPlan(resets=(60.0,)))

    def energy():
        return decode_float(*parse_read_response(slave.answer(READ_IMPORT).pdu))

    assert energy() > 1000  # a meter installed a while ago
    clocks.elapsed = 59.0
    assert energy() > 1000
    clocks.elapsed = 61.0
    assert energy() < 1
    clocks.elapsed = 600.0
    assert 0 < energy() < 10
    assert slave.counters.resets == 1


def test_fault_plans_refuse_nonsense():
    with pytest.raises(ValueError, match="N >= 1"):
        FaultPlan(busy_every=0)
    with pytest.raises(ValueError, match=r"1\.\.247"):
        make_slave(unit=0)
