"""Building blocks shared by every section of the gateway configuration."""

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


class DeviceSection(Section):
    """What every device entry has, whatever its type.

    ``raw``: publish every sample as well as the interval aggregates (more data on the wire;
    useful while commissioning a site or investigating a sensor).
    """

    id: Identifier
    enabled: bool = True
    raw: bool = False
