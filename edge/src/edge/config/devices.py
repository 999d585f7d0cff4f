"""The device entries of a gateway configuration: one model per device type, keyed by ``type``.

Every model has ``id``, ``enabled``, an ``endpoint`` property (the port or socket it owns: no two
entries may share one) and a ``device_ids`` property (the device ids its readings carry; a bus
entry has one per slave). To add a device type: write its model in a module beside this one,
add it to :data:`DeviceConfig`, and give :func:`edge.devices.build_device` a case for it.
"""

from typing import Annotated

from pydantic import Field

from edge.config.dlt645 import Dlt645Config
from edge.config.modbus import ModbusRtuConfig, ModbusTcpConfig
from edge.config.pms5003 import Pms5003Config
from edge.config.sds011 import Sds011Config

DeviceConfig = Annotated[
    Pms5003Config | Sds011Config | Dlt645Config | ModbusRtuConfig | ModbusTcpConfig,
    Field(discriminator="type"),
]
