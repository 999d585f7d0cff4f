"""Put the data source, the folders and the dashboards on a running Grafana, idempotently.

Everything is addressed by uid, so pushing again updates in place and never duplicates:
the data source is looked up by uid and updated, or created; each folder likewise; each
dashboard is saved with ``overwrite`` into its folder. Talks to Grafana's HTTP API through
grafana-client, whose methods carry no type annotations (hence the ``type: ignore``).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.boards import DASHBOARDS
from dashboards.provisioning import FOLDERS, datasource_model

log = logging.getLogger(__name__)

_NOT_FOUND = 404


@dataclass(frozen=True, slots=True)
class InfluxSource:
    """Where Grafana finds InfluxDB (as Grafana's server reaches it)."""

    url: str
    database: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PushReport:
    """What a push did: each item's uid and ``created`` or ``updated``."""

    datasource: str
    folders: dict[str, str]
    dashboards: dict[str, str]


def folder_uid(folder: str) -> str:
    """The uid of a folder of :data:`~dashboards.provisioning.FOLDERS` in Grafana."""
    return f"lantian-{folder}"


def push(api: GrafanaApi, source: InfluxSource) -> PushReport:
    """Create or update the data source, the folders and every dashboard.

    Raises:
        GrafanaException: Grafana refused a request (bad credentials, no permission, ...).
    """
    model = datasource_model(source.url, source.database, source.user, source.password)
    uid = str(model["uid"])
    if _exists(partial(api.datasource.get_datasource_by_uid, uid)):
        api.datasource.update_datasource_by_uid(uid, model)  # type: ignore[no-untyped-call]
        datasource = "updated"
    else:
        api.datasource.create_datasource(model)  # type: ignore[no-untyped-call]
        datasource = "created"
    folders: dict[str, str] = {}
    for folder, title in FOLDERS.items():
        fuid = folder_uid(folder)
        if _exists(partial(api.folder.get_folder, fuid)):
            api.folder.update_folder(fuid, title=title, overwrite=True)  # type: ignore[no-untyped-call]
            folders[fuid] = "updated"
        else:
            api.folder.create_folder(title, uid=fuid)  # type: ignore[no-untyped-call]
            folders[fuid] = "created"
    dashboards: dict[str, str] = {}
    for dashboard in DASHBOARDS:
        existed = _exists(partial(api.dashboard.get_dashboard, dashboard.uid))
        api.dashboard.update_dashboard(  # type: ignore[no-untyped-call]
            {
                "dashboard": dashboard.render(),
                "folderUid": folder_uid(dashboard.folder),
                "overwrite": True,
                "message": "lantian-dashboards push",
            }
        )
        dashboards[dashboard.uid] = "updated" if existed else "created"
    log.info("pushed data source %s, %d folders, %d dashboards", uid, len(folders), len(dashboards))
    return PushReport(datasource=uid + ": " + datasource, folders=folders, dashboards=dashboards)


def _exists(get: Callable[[], object]) -> bool:
    try:
        get()
    except GrafanaClientError as exc:
        if exc.status_code == _NOT_FOUND:
            return False
        raise
    return True
