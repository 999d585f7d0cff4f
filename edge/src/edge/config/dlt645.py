"""Configuration of a DL/T 645-2007 bus: electricity meters on one serial (RS-485) port.

One entry owns the port and lists its meters by address; each meter is a device with its own
id, the data items it reads and its interval::

    - type: dlt645
      id: rs485-meters
      port: /dev/ttyUSB1
      meters:
        - {id: meter-workshop-1, address: "123456789012", interval: 60}
        - id: meter-workshop-2
          address: "000000004521"
          identifiers: [energy_import, active_power, voltage, current, power_factor]
          ct_ratio: 40   # 200/5 A current transformers: the meter measures 1/40 of the current

The address is the 12-digit number printed on the meter's nameplate (quote it: YAML would read
it as a number). ``AAAAAAAAAAAA``, the wildcard, reads whatever meter is on the bus, and is
allowed only for a bus with a single meter. ``identifiers`` are metric ids of the telemetry
catalog that DL/T 645-2007 data items provide (:data:`edge.protocols.dlt645_items.BY_METRIC`).

Line settings: DL/T 645-2007 meters leave the factory at 2400 baud, 8 data bits, even parity,
1 stop bit. The protocol reference gives "2400 8E1 (verify)"; the open-source meter tool
glx-technologies/meter-dlt645 (``dlt645.py``, ``Channel``) opens the port the same way
(2400 baud, PARITY_EVEN, 8 bits, 1 stop bit), and that is what this module follows. Newer
meters often run at 9600: check the meter's display.
"""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from edge.config.base import DeviceSection, FilePath, Sampling, Seconds, relative_to_file
from edge.protocols.dlt645 import WILDCARD

Dlt645Metric = Literal[
    "energy_import",
    "energy_export",
    "energy_total",
    "voltage",
    "current",
    "active_power",
    "power_factor",
    "frequency",
]
ENERGY_REGISTER_MODULUS = 1_000_000.0  # kWh: 4 BCD bytes, XXXXXX.XX (protocol reference)
MeterAddress = Annotated[str, Field(pattern=f"^([0-9]{{12}}|{WILDCARD})$")]


class Dlt645MeterConfig(DeviceSection):
    """One meter on the bus: a device of its own, read every ``interval`` seconds."""

    address: MeterAddress
    identifiers: Annotated[tuple[Dlt645Metric, ...], Field(strict=False, min_length=1)] = (
        "energy_import",
    )
    interval: Seconds = 60.0
    # a meter behind transformers reports their secondary side; energies, power, currents and
    # voltages are multiplied by these ratios (e.g. ct_ratio: 40 for 200/5 A current transformers)
    ct_ratio: Annotated[float, Field(gt=0, le=100_000)] = 1.0
    vt_ratio: Annotated[float, Field(gt=0, le=100_000)] = 1.0

    @field_validator("identifiers")
    @classmethod
    def _identifiers_unique(cls, identifiers: tuple[str, ...]) -> tuple[str, ...]:
        if twice := next((i for i in identifiers if identifiers.count(i) > 1), None):
            raise ValueError(f"{twice!r} is listed twice")
        return identifiers


class Dlt645Config(DeviceSection):
    """DL/T 645-2007 meters on one serial port. ``raw`` on the bus applies to each meter."""

    type: Literal["dlt645"]
    port: FilePath
    baudrate: Annotated[int, Field(gt=0)] = 2400
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    preamble: bool = True  # send FE FE FE FE before each request, to wake the meters' UARTs
    timeout: Seconds = 1.0  # per request: how long to wait for the reply
    request_gap: Annotated[float, Field(ge=0, le=10)] = 0.05  # seconds between two requests
    max_backoff: Seconds = 300.0  # longest wait between two polls of a meter that keeps failing
    meters: Annotated[tuple[Dlt645MeterConfig, ...], Field(strict=False, min_length=1)]

    _relative = field_validator("port")(relative_to_file)

    @field_validator("meters")
    @classmethod
    def _meters_distinct(
        cls, meters: tuple[Dlt645MeterConfig, ...]
    ) -> tuple[Dlt645MeterConfig, ...]:
        for what, values in (
            ("address", [m.address for m in meters]),
            ("id", [m.id for m in meters]),
        ):
            if (twice := next((v for v in values if values.count(v) > 1), None)) is not None:
                raise ValueError(f"{what} {twice!r} is used by more than one meter")
        if len(meters) > 1 and any(m.address == WILDCARD for m in meters):
            raise ValueError(
                "the wildcard address is answered by every meter on the bus: "
                "use it only when the bus has a single meter"
            )
        return meters

    @property
    def endpoint(self) -> str:
        """The serial port this bus owns."""
        return str(self.port)

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The device ids its readings carry: one per meter."""
        return tuple(m.id for m in self.meters)

    @property
    def raw_device_ids(self) -> tuple[str, ...]:
        """The meters whose raw samples are published: all if the bus says so, else their own."""
        return tuple(m.id for m in self.meters if self.raw or m.raw)

    @property
    def sampling(self) -> dict[str, Sampling]:
        """Each enabled meter is sampled once per its ``interval``.

        A DL/T 645-2007 energy register (XXXXXX.XX kWh) wraps from 999999.99 to 0; the published
        value is multiplied by the meter's transformer ratios, and so is where it wraps.
        """
        return {
            m.id: Sampling(
                m.interval, counter_modulus=ENERGY_REGISTER_MODULUS * m.ct_ratio * m.vt_ratio
            )
            for m in self.meters
            if m.enabled
        }
