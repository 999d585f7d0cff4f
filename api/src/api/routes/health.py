"""Liveness: the process answers and its stores are reachable."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import InfluxDep
from api.errors import STORE_UNAVAILABLE

router = APIRouter(tags=["health"], responses=STORE_UNAVAILABLE)


class Health(BaseModel):
    """What the API can reach."""

    status: str
    influxdb_version: str


@router.get("/healthz")
def healthz(influx: InfluxDep) -> Health:
    """Answer when InfluxDB answers too."""
    return Health(status="ok", influxdb_version=influx.ping())
