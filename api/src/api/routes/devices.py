"""The devices of a gateway or a site, as the stored readings show them; read only.

The registry lists no devices: they are defined in each gateway's edge config and reach the
platform as the ``device`` tag of the readings (docs/data-model.md). So these listings are
what InfluxDB saw within the last ``device_lookback_days`` (a setting): each device with the
metrics it reported and when it last did. A device silent longer is not listed. The
enterprise boundary is the registry's: another enterprise's gateway or site is 404.
"""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.errors import STORE_UNAVAILABLE
from api.queries import epoch_ms, utc
from api.security import CurrentPrincipal, visible_gateway, visible_site
from store.devices import DeviceSeen, Scope, devices_seen
from telemetry import CATALOG

router = APIRouter(tags=["registry"], responses=STORE_UNAVAILABLE)

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such gateway or site, or not the caller's enterprise's"},
}


class DeviceMetricOut(BaseModel):
    """A metric a device reported, and its newest reading's time."""

    metric: str
    unit: str
    last_ts: int = Field(description="UTC epoch ms of the newest reading")
    last_seen: datetime = Field(description="the same instant in UTC")


class DeviceOut(BaseModel):
    """A device of a gateway: its metrics and its newest reading of any of them."""

    id: str = Field(description="the device id of the gateway's config")
    gateway: str
    last_ts: int = Field(description="UTC epoch ms of the device's newest reading")
    last_seen: datetime = Field(description="the same instant in UTC")
    metrics: list[DeviceMetricOut]

    @classmethod
    def of(cls, seen: DeviceSeen) -> "DeviceOut":
        """The answer for what the store saw."""
        return cls(
            id=seen.device,
            gateway=seen.gateway,
            last_ts=seen.last_ts,
            last_seen=utc(seen.last_ts),
            metrics=[
                DeviceMetricOut(
                    metric=m.metric,
                    unit=CATALOG[m.metric].unit,
                    last_ts=m.last_ts,
                    last_seen=utc(m.last_ts),
                )
                for m in seen.metrics
            ],
        )


class DevicesOut(BaseModel):
    """The devices with readings since ``since``, by gateway then device id."""

    since: datetime = Field(description="start of the lookback (device_lookback_days)")
    devices: list[DeviceOut]


def _devices(
    influx: InfluxDep, settings: SettingsDep, *, scope: Scope, scope_id: str
) -> DevicesOut:
    since = datetime.now(UTC) - timedelta(days=settings.device_lookback_days)
    seen = devices_seen(influx, scope=scope, scope_id=scope_id, since_ms=epoch_ms(since))
    return DevicesOut(since=since, devices=[DeviceOut.of(device) for device in seen])


@router.get("/gateways/{gateway_id}/devices", responses=_RESPONSES)
def list_gateway_devices(
    gateway_id: str,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
) -> DevicesOut:
    """The gateway's devices with readings within the lookback."""
    visible_gateway(registry, principal, gateway_id)
    return _devices(influx, settings, scope="gateway", scope_id=gateway_id)


@router.get("/sites/{site_id}/devices", responses=_RESPONSES)
def list_site_devices(
    site_id: str,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
) -> DevicesOut:
    """The devices of every gateway of the site with readings within the lookback."""
    visible_site(registry, principal, site_id)
    return _devices(influx, settings, scope="site", scope_id=site_id)
