"""Configuration of a Plantower PMS5003/PMS7003 particulate sensor."""

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from edge.config.base import DeviceSection, FilePath, Seconds, Section, relative_to_file

# Plantower PMS5003 data manual V2.3 (2016), "Output result": stable mode sends a frame every 2.3 s.
ACTIVE_FRAME_PERIOD_S = 2.3

# After a wake the fan needs about 30 s before readings settle (protocols.md, PMS5003 section,
# from the Plantower data manual).
WARMUP_S = 30.0

Pms5003Metric = Literal[
    "pm1", "pm25", "pm10", "pc_0_3", "pc_0_5", "pc_1_0", "pc_2_5", "pc_5_0", "pc_10"
]


class DutyCycle(Section):
    """Run the sensor ``awake`` seconds out of every ``period``, asleep (fan and laser off) between.

    (Not ``on``: YAML reads a bare ``on`` as the boolean true.)

    The laser and fan wear out (Plantower rates the sensor for continuous use in years, not
    decades); a sensor that sleeps four minutes out of five lasts about five times longer, and a
    one-minute sample every five minutes is plenty for a site's hourly and daily means.
    """

    awake: Seconds  # awake time per cycle, warm-up included
    period: Seconds  # cycle length

    @model_validator(mode="after")
    def _awake_within_period(self) -> Self:
        if self.awake >= self.period:
            raise ValueError("awake must be shorter than period")
        return self


class Pms5003Config(DeviceSection):
    """A Plantower PMS5003 on its own serial port."""

    type: Literal["pms5003"]
    port: FilePath
    baudrate: Annotated[int, Field(gt=0)] = 9600
    mode: Literal["active", "passive"] = "active"
    read_interval: Seconds = 5.0  # passive mode: seconds between read commands
    timeout: Seconds = 5.0  # seconds without a frame that count as one read timeout
    # Frames in the first ``warmup`` seconds after a wake (and after the agent starts) are
    # counted and discarded: the sensor has not settled. 0 for a simulator.
    warmup: Annotated[float, Field(ge=0, le=600)] = WARMUP_S
    duty_cycle: DutyCycle | None = None  # None: the sensor runs continuously
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
        pace = self.read_interval if self.mode == "passive" else ACTIVE_FRAME_PERIOD_S
        if self.duty_cycle is None:
            return pace
        # A duty-cycled sensor promises its settled frames once per cycle: an interval is
        # covered when the cycle's readings fall in it.
        return max(pace, self.duty_cycle.period)

    @model_validator(mode="after")
    def _warmup_within_the_awake_time(self) -> Self:
        if self.duty_cycle is not None and self.warmup >= self.duty_cycle.awake:
            raise ValueError("warmup must be shorter than duty_cycle.awake, or nothing is read")
        return self

    @field_validator("metrics")
    @classmethod
    def _metrics_unique(cls, metrics: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(metrics)) != len(metrics):
            raise ValueError("a metric is listed twice")
        return metrics
