"""Building blocks shared by every section of the gateway configuration."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

from telemetry.topics import IDENTIFIER_PATTERN

Identifier = Annotated[str, Field(pattern=f"^{IDENTIFIER_PATTERN}$")]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


def relative_to_file(value: Path | None, info: ValidationInfo) -> Path | None:
    """A field validator: resolve a relative path against the configuration file's folder."""
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if value is None or value.is_absolute() or base is None:
        return value
    return Path(base) / value


# Paths arrive as YAML strings; strict mode would demand Path objects, so paths alone are lax.
FilePath = Annotated[Path, Field(strict=False)]


class Section(BaseModel):
    """A strict, immutable part of the configuration: unknown keys and coercions are errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Sampling:
    """What the aggregation stage must know about how one device is read.

    Attributes:
        period_s: nominal seconds between two samples; an interval of ``interval`` seconds
            expects ``interval / period_s`` of them.
        counter_modulus: where the device's cumulative registers wrap to zero, if they do
            (a DL/T 645-2007 energy register, XXXXXX.XX kWh, wraps after 999999.99 to 0:
            modulus 1 000 000).
        max_power_kw: the fastest a counter can plausibly rise, as a power (e.g. ten times the
            meter's rated power); a rise faster than that is not trusted. None: no limit but
            the catalog's range of the consumption metric.
    """

    period_s: float
    counter_modulus: float | None = None
    max_power_kw: float | None = None


class DeviceSection(Section):
    """What every device entry has, whatever its type.

    ``raw``: publish every sample as well as the interval aggregates (more data on the wire;
    useful while commissioning a site or investigating a sensor).
    """

    id: Identifier
    enabled: bool = True
    raw: bool = False

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The device ids its readings carry; a bus entry overrides it with one per slave."""
        return (self.id,)

    @property
    def raw_device_ids(self) -> tuple[str, ...]:
        """The device ids whose every sample is published as well as the aggregates."""
        return self.device_ids if self.raw else ()

    @property
    def sampling_period_s(self) -> float:
        """Nominal seconds between two samples: what the aggregation expects per interval.

        Every single-device type defines it; a bus overrides :attr:`sampling` instead.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not say how often it samples: give it a"
            " sampling_period_s property (or, for a bus, a sampling property)"
        )

    @property
    def sampling(self) -> dict[str, Sampling]:
        """How each device id of this entry is sampled, for the aggregation stage."""
        return dict.fromkeys(self.device_ids, Sampling(self.sampling_period_s))
