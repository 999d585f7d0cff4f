"""Configuration of a Plantower PMS5003/PMS7003 particulate sensor."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from edge.config.base import DeviceSection, FilePath, Seconds, relative_to_file

# Plantower PMS5003 data manual V2.3 (2016), "Output result": stable mode sends a frame every 2.3 s.
ACTIVE_FRAME_PERIOD_S = 2.3

Pms5003Metric = Literal[
    "pm1", "pm25", "pm10", "pc_0_3", "pc_0_5", "pc_1_0", "pc_2_5", "pc_5_0", "pc_10"
]


class Pms5003Config(DeviceSection):
    """A Plantower PMS5003 on its own serial port."""

    type: Literal["pms5003"]
    port: FilePath
    baudrate: Annotated[int, Field(gt=0)] = 9600
    mode: Literal["active", "passive"] = "active"
    read_interval: Seconds = 5.0  # passive mode: seconds between read commands
    timeout: Seconds = 5.0  # seconds without a frame that count as one read timeout
    metrics: Annotated[tuple[Pms5003Metric, ...], Field(strict=False, min_length=1)] = (
        "pm1",
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
        """Seconds between two frames: ``read_interval`` in passive mode.

        In active mode the sensor paces itself: every 2.3 s while the concentration is steady,
        every 0.2-0.8 s while it changes fast (Plantower PMS5003 data manual V2.3, 2016, "Output
        result"; our protocol reference says "about one frame a second"). The slowest pace is
        the nominal one, so that a steady sensor still fills its intervals.
        """
        return self.read_interval if self.mode == "passive" else ACTIVE_FRAME_PERIOD_S

    @field_validator("metrics")
    @classmethod
    def _metrics_unique(cls, metrics: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(metrics)) != len(metrics):
            raise ValueError("a metric is listed twice")
        return metrics
