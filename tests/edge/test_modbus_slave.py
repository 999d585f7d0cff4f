"""One slave's poll: reads in plan order, values, and what is not published.

The bus here is a stand-in that answers from a table of words; the real transports are
exercised in test_modbus_rtu.py and test_modbus_tcp.py.
"""

import logging
import math
import struct

import pytest

from edge.config.modbus import ModbusSlaveConfig
from edge.devices.modbus import ModbusSlave
from edge.devices.polling import BadFrame
from telemetry.payload import MIN_TS_MS

TS = 1_764_140_000_000


def float_words(value):
    return list(struct.unpack(">HH", struct.pack(">f", value)))


class TableBus:
    """Answers each read with the words stored at its addresses; records the reads."""

    def __init__(self, words, *, short_by=0):
        self.words = words
        self.short_by = short_by
        self.reads = []
        self.pauses = 0

    def pause(self):
        self.pauses += 1

    def read(self, unit, request):
        self.reads.append((unit, request.function_code, request.address, request.count))
        end = request.address + request.count - self.short_by
        return [self.words.get(a, 0) for a in range(request.address, end)]


def slave(registers):
    return ModbusSlaveConfig.model_validate(
        {"id": "boiler", "unit": 7, "interval": 5.0, "registers": registers}
    )


REGISTERS = [
    {"metric": "voltage", "type": "input", "address": 0, "data_type": "float32"},
    {"metric": "frequency", "type": "input", "address": 2, "data_type": "float32"},
    {"metric": "temperature", "type": "holding", "address": 10, "data_type": "int16", "scale": 0.1},
    {"metric": "humidity", "type": "coil", "address": 20},
]


def table(voltage=230.2):
    words = dict(enumerate(float_words(voltage) + float_words(50.01)))
    return {**words, 10: 0xFF38, 20: 1}  # -200 tenths of a degree; the coil is on


def test_a_poll_reads_the_plan_in_order_with_gaps_between_requests():
    bus = TableBus(table())
    target = ModbusSlave(slave(REGISTERS), bus)
    readings = target.poll(TS)
    assert bus.reads == [(7, 1, 20, 1), (7, 3, 10, 1), (7, 4, 0, 4)]
    assert bus.pauses == 2
    assert [(r.device, r.metric, r.value, r.ts) for r in readings] == [
        ("boiler", "humidity", 1.0, TS),
        ("boiler", "temperature", -20.0, TS),
        ("boiler", "voltage", 230.2, TS),
        ("boiler", "frequency", 50.01, TS),
    ]
    assert (target.id, target.interval_s) == ("boiler", 5.0)


def test_nan_is_not_published_and_logged_once(caplog):
    bus = TableBus(table(voltage=math.nan))
    target = ModbusSlave(slave(REGISTERS), bus)
    with caplog.at_level(logging.WARNING, logger="edge.devices.modbus"):
        first = target.poll(TS)
        second = target.poll(TS + 1000)
    assert (
        [r.metric for r in first]
        == [r.metric for r in second]
        == [
            "humidity",
            "temperature",
            "frequency",
        ]
    )
    assert [r.message for r in caplog.records] == ["boiler: voltage reads nan; not published"]
    bus.words = table()
    assert "voltage" in [r.metric for r in target.poll(TS + 2000)]


def test_no_readings_while_the_clock_is_unset_but_the_device_is_read():
    bus = TableBus(table())
    assert ModbusSlave(slave(REGISTERS), bus).poll(MIN_TS_MS - 1) == []
    assert len(bus.reads) == 3


def test_a_short_answer_is_a_bad_frame():
    bus = TableBus(table(), short_by=1)
    target = ModbusSlave(slave(REGISTERS[2:3]), bus)
    with pytest.raises(BadFrame, match=r"unit 7: FC03 holding 0x000A\+1: asked for 1 holding"):
        target.poll(TS)
