"""The gateway configuration: one YAML file per gateway, validated strictly.

:mod:`edge.config.gateway` holds the file as a whole and :func:`load_config`; each device type
has its model in a module of its own, gathered in :mod:`edge.config.devices`.
"""

from edge.config.devices import DeviceConfig
from edge.config.gateway import (
    ConfigError,
    ConfigProblem,
    GatewayConfig,
    MqttConfig,
    PublishConfig,
    TlsConfig,
    load_config,
)
from edge.config.pms5003 import Pms5003Config

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "DeviceConfig",
    "GatewayConfig",
    "MqttConfig",
    "Pms5003Config",
    "PublishConfig",
    "TlsConfig",
    "load_config",
]
