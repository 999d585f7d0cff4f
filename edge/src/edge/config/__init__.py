"""The gateway configuration: one YAML file per gateway, validated strictly.

:mod:`edge.config.gateway` holds the file as a whole and :func:`load_config`; each device type
has its model in a module of its own, gathered in :mod:`edge.config.devices`.
"""

from edge.config.devices import DeviceConfig
from edge.config.dlt645 import Dlt645Config, Dlt645MeterConfig
from edge.config.gateway import (
    AggregationConfig,
    ConfigError,
    ConfigProblem,
    GatewayConfig,
    MqttConfig,
    PublishConfig,
    SpoolConfig,
    TlsConfig,
    load_config,
)
from edge.config.modbus import ModbusRtuConfig, ModbusSlaveConfig, ModbusTcpConfig, RegisterEntry
from edge.config.pms5003 import Pms5003Config
from edge.config.sds011 import Sds011Config

__all__ = [
    "AggregationConfig",
    "ConfigError",
    "ConfigProblem",
    "DeviceConfig",
    "Dlt645Config",
    "Dlt645MeterConfig",
    "GatewayConfig",
    "ModbusRtuConfig",
    "ModbusSlaveConfig",
    "ModbusTcpConfig",
    "MqttConfig",
    "Pms5003Config",
    "PublishConfig",
    "RegisterEntry",
    "Sds011Config",
    "SpoolConfig",
    "TlsConfig",
    "load_config",
]
