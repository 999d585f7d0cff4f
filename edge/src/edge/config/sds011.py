"""Configuration of a Nova Fitness SDS011 particulate sensor.

The sensor is read in measurement cycles: every ``interval`` seconds it is woken, its fan runs
``warmup`` seconds to flush the measuring chamber, it is asked for ``samples`` readings
``sample_interval`` apart, and it is put back to sleep (``duty_cycle``), which spares the laser
and the fan, the parts that wear out. The defaults follow citizen sensor networks: about 20 s of
fan per cycle, 15 s of warm-up then 5 s of readings at about 1 Hz (Lantian protocol reference,
SDS011 section)::

    - {type: sds011, id: pm-2, port: /dev/ttyUSB0, interval: 60, warmup: 15, samples: 5}
"""

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from edge.config.base import DeviceSection, FilePath, Seconds, relative_to_file

Sds011Metric = Literal["pm25", "pm10"]


class Sds011Config(DeviceSection):
    """A Nova Fitness SDS011 on its own serial port."""

    type: Literal["sds011"]
    port: FilePath
    baudrate: Annotated[int, Field(gt=0)] = 9600
    warmup: Annotated[float, Field(ge=0, le=3600)] = 15.0  # fan-on seconds before sampling
    samples: Annotated[int, Field(ge=1, le=120)] = 5  # readings per cycle
    sample_interval: Seconds = 1.0  # seconds between them; the sensor measures about once a second
    # seconds from the start of one measurement cycle to the next; declared after the cycle's
    # parts so that its validator sees them, and checked even when left at its default
    interval: Annotated[float, Field(gt=0, le=86_400, validate_default=True)] = 60.0
    duty_cycle: bool = True  # sleep between cycles; without it the fan and laser run non-stop
    timeout: Seconds = 3.0  # seconds to wait for the answer to one query
    metrics: Annotated[tuple[Sds011Metric, ...], Field(strict=False, min_length=1)] = (
        "pm25",
        "pm10",
    )

    _relative = field_validator("port")(relative_to_file)

    @property
    def endpoint(self) -> str:
        """The port this device owns; no two devices may share one."""
        return str(self.port)

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The device ids its readings carry."""
        return (self.id,)

    @property
    def sampling_period_s(self) -> float:
        """Seconds between two readings: one trimmed mean per measurement cycle."""
        return self.interval

    @property
    def cycle_seconds(self) -> float:
        """How long one measurement cycle keeps the sensor busy, answers not counted."""
        return self.warmup + (self.samples - 1) * self.sample_interval

    @field_validator("metrics")
    @classmethod
    def _metrics_unique(cls, metrics: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(metrics)) != len(metrics):
            raise ValueError("a metric is listed twice")
        return metrics

    @field_validator("interval")
    @classmethod
    def _cycle_fits_the_interval(cls, interval: float, info: ValidationInfo) -> float:
        warmup, samples, gap = (info.data.get(k) for k in ("warmup", "samples", "sample_interval"))
        if warmup is None or samples is None or gap is None:
            return interval  # a part is invalid and reported already
        cycle = float(warmup + (samples - 1) * gap)
        if cycle >= interval:
            raise ValueError(
                f"warmup + (samples - 1) * sample_interval = {cycle:g} s must be shorter than"
                f" interval ({interval:g} s)"
            )
        return interval
