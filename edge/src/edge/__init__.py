"""The gateway agent that runs on a Raspberry Pi: device drivers, polling and MQTT publishing.

It imports only ``telemetry`` and ``standards`` from Lantian, and no server library, so that a
gateway installs nothing it does not use.
"""

__version__ = "0.1.0"
