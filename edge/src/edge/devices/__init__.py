"""Device owners: one object per physical device and port, each in its own thread.

:func:`build_device` turns a device entry of the configuration into its owner. A new device type
adds a config model to :data:`edge.config.devices.DeviceConfig`, an owner module here and a case in
:func:`build_device` (mypy checks that every member of the union has one).
"""

from typing import assert_never

from edge.config import DeviceConfig, Dlt645Config, ModbusRtuConfig, ModbusTcpConfig, Pms5003Config
from edge.config.sds011 import Sds011Config
from edge.devices.base import Clock, Device, DeviceCounters, ReadingSink, wall_clock_ms
from edge.devices.dlt645 import Dlt645Bus
from edge.devices.modbus import ModbusRtuBus, ModbusTcpBus
from edge.devices.pms5003 import Pms5003Device
from edge.devices.sds011 import Sds011Device

__all__ = ["Device", "DeviceCounters", "ReadingSink", "build_device"]


def build_device(
    config: DeviceConfig, sink: ReadingSink, *, clock: Clock = wall_clock_ms
) -> Device:
    """The owner of the device ``config`` describes; nothing is opened until it is started."""
    match config:
        case Pms5003Config():
            return Pms5003Device(config, sink, clock=clock)
        case Sds011Config():
            return Sds011Device(config, sink, clock=clock)
        case Dlt645Config():
            return Dlt645Bus(config, sink, clock=clock)
        case ModbusRtuConfig():
            return ModbusRtuBus(config, sink, clock=clock)
        case ModbusTcpConfig():
            return ModbusTcpBus(config, sink, clock=clock)
        case _:
            assert_never(config)
