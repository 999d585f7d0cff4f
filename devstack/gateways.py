"""Gateway configurations for simulated sites: a fleet's endpoints become one gateway's devices.

``lantian-firmware-sim scenario`` (or an in-process :class:`firmware_sim.fleet.Fleet`) says where
each simulated device is; :func:`device_entries` turns that into the ``devices`` list of the
edge's YAML, one entry per simulated device or bus, each bus with one slave or meter per
simulated meter under the same device ids, so the readings can be traced back to the simulator.
How patiently and how often each kind of device is read is a :class:`Polling`.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from firmware_sim.fleet import DeviceEndpoint, FleetEndpoints

Entry = dict[str, object]

# Every DL/T 645-2007 item the simulated meters answer (edge.protocols.dlt645_items).
DLT645_METRICS = (
    "energy_import",
    "energy_export",
    "energy_total",
    "voltage",
    "current",
    "active_power",
    "power_factor",
    "frequency",
)


@dataclass(frozen=True, slots=True)
class Polling:
    """How the generated entries read each kind of device; the defaults are the edge's own.

    ``raw_particulates`` and ``raw_meters``: publish every sample besides the aggregates.
    """

    raw_particulates: bool = True
    raw_meters: bool = False
    pms5003_timeout_s: float = 5.0
    sds011_interval_s: float = 60.0
    sds011_warmup_s: float = 15.0
    sds011_samples: int = 5
    sds011_sample_interval_s: float = 1.0
    sds011_timeout_s: float = 3.0
    modbus_interval_s: float = 10.0
    dlt645_interval_s: float = 60.0
    timeout_s: float = 1.0  # per Modbus or DL/T 645 request
    retries: int = 1  # Modbus resends after a timeout
    request_gap_s: float = 0.05  # between two requests on one bus
    dlt645_max_backoff_s: float = 300.0


def _pms5003(device: DeviceEndpoint, polling: Polling) -> Entry:
    return {
        "type": "pms5003",
        "id": device["id"],
        "port": device["link"],
        "mode": "active",
        "timeout": polling.pms5003_timeout_s,
        "warmup": 0,  # a simulated sensor is settled at once
        "raw": polling.raw_particulates,
    }


def _sds011(device: DeviceEndpoint, polling: Polling) -> Entry:
    return {
        "type": "sds011",
        "id": device["id"],
        "port": device["link"],
        "interval": polling.sds011_interval_s,
        "warmup": polling.sds011_warmup_s,
        "samples": polling.sds011_samples,
        "sample_interval": polling.sds011_sample_interval_s,
        "timeout": polling.sds011_timeout_s,
        "raw": polling.raw_particulates,
    }


def _modbus(device: DeviceEndpoint, polling: Polling) -> Entry:
    where = (
        {"port": device["link"]}
        if device["type"] == "modbus_rtu"
        else {"host": device["host"], "port": device["port"]}
    )
    slaves = [
        {
            "id": m["id"],
            "unit": m["unit"],
            "profile": m["model"],
            "interval": polling.modbus_interval_s,
        }
        for m in device.get("members", [])
    ]
    return {
        "type": device["type"],
        "id": device["id"],
        **where,
        "timeout": polling.timeout_s,
        "retries": polling.retries,
        "request_gap": polling.request_gap_s,
        "raw": polling.raw_meters,
        "slaves": slaves,
    }


def _dlt645(device: DeviceEndpoint, polling: Polling) -> Entry:
    meters = [
        {
            "id": m["id"],
            "address": m["address"],
            "identifiers": list(DLT645_METRICS),
            "interval": polling.dlt645_interval_s,
            "ct_ratio": m.get("ct_ratio", 1.0),
        }
        for m in device.get("members", [])
    ]
    return {
        "type": "dlt645",
        "id": device["id"],
        "port": device["link"],
        "timeout": polling.timeout_s,
        "request_gap": polling.request_gap_s,
        "max_backoff": polling.dlt645_max_backoff_s,
        "raw": polling.raw_meters,
        "meters": meters,
    }


ENTRIES: dict[str, Callable[[DeviceEndpoint, Polling], Entry]] = {
    "pms5003": _pms5003,
    "sds011": _sds011,
    "modbus_rtu": _modbus,
    "modbus_tcp": _modbus,
    "dlt645": _dlt645,
}
"""How each simulated device type becomes an entry of the edge's configuration."""


def device_entries(devices: Sequence[DeviceEndpoint], polling: Polling = Polling()) -> list[Entry]:
    """The edge's ``devices`` entries for a fleet's devices, in the fleet's order.

    Raises:
        KeyError: a device type without an entry in :data:`ENTRIES`.
    """
    return [ENTRIES[device["type"]](device, polling) for device in devices]


def read_endpoints(path: Path) -> FleetEndpoints | None:
    """The endpoints a ``scenario`` process printed to ``path``; None until its line is whole."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    line, newline, _ = text.partition("\n")
    if not newline:
        return None
    return cast("FleetEndpoints", json.loads(line))
