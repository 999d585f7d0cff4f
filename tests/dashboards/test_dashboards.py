"""The dashboards as Grafana JSON: structurally valid, and the committed files are what the code
renders (``lantian-dashboards write`` run after every change)."""

import json
import re
from pathlib import Path

import pytest
import yaml

from dashboards.boards import DASHBOARDS
from dashboards.cli import main
from dashboards.model import COLUMNS, DATASOURCE_UID, Dashboard, Panel
from dashboards.provisioning import DASHBOARDS_PATH, ENVIRONMENT, FOLDERS, rendered_files

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
GRAFANA_MACROS = {"timeFilter", "__interval", "__interval_ms", "col"}
RENDERED = {d.uid: d.render() for d in DASHBOARDS}


def test_the_committed_files_are_what_the_code_renders():
    committed = {
        str(path.relative_to(DEPLOY)): path.read_text(encoding="utf-8")
        for path in sorted(DEPLOY.rglob("*"))
        if path.is_file()
    }
    assert committed == rendered_files(), "run `lantian-dashboards write deploy/grafana`"


def test_write_puts_every_file_under_the_directory(tmp_path):
    assert main(["write", str(tmp_path)]) == 0
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(rendered_files())
    for dashboard in DASHBOARDS:
        text = (tmp_path / "dashboards" / dashboard.folder / f"{dashboard.uid}.json").read_text()
        assert json.loads(text)["uid"] == dashboard.uid


def test_the_data_source_takes_its_connection_from_the_environment():
    source = yaml.safe_load(rendered_files()["provisioning/datasources/influxdb.yaml"])
    (entry,) = source["datasources"]
    assert (entry["uid"], entry["type"], entry["access"]) == (DATASOURCE_UID, "influxdb", "proxy")
    assert entry["url"] == f"${{{ENVIRONMENT['url']}}}"
    assert entry["user"] == f"${{{ENVIRONMENT['user']}}}"
    assert entry["jsonData"]["dbName"] == f"${{{ENVIRONMENT['database']}}}"
    assert entry["secureJsonData"]["password"] == f"${{{ENVIRONMENT['password']}}}"


def test_one_file_provider_per_folder_reads_its_mounted_folder():
    providers = yaml.safe_load(rendered_files()["provisioning/dashboards/lantian.yaml"])
    found = {
        p["folderUid"]: (p["folder"], p["type"], p["options"]["path"])
        for p in providers["providers"]
    }
    assert found == {
        f"lantian-{folder}": (title, "file", f"{DASHBOARDS_PATH}/{folder}")
        for folder, title in FOLDERS.items()
    }
    assert {d.folder for d in DASHBOARDS} <= set(FOLDERS)


def test_dashboards_have_unique_uids_and_titles():
    assert len({d.uid for d in DASHBOARDS}) == len(DASHBOARDS) == 4
    for model in RENDERED.values():
        assert model["uid"]
        assert model["title"]
        assert model["id"] is None


@pytest.mark.parametrize("uid", sorted(RENDERED))
def test_panel_ids_are_unique_and_positions_do_not_overlap(uid):
    panels = RENDERED[uid]["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(set(ids)) == len(ids)
    cells: dict[tuple[int, int], int] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["w"] > 0
        assert grid["h"] > 0
        assert grid["x"] + grid["w"] <= COLUMNS, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]


@pytest.mark.parametrize("uid", sorted(RENDERED))
def test_every_panel_has_the_data_source_and_one_query(uid):
    for panel in RENDERED[uid]["panels"]:
        assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
        (target,) = panel["targets"]
        assert target["datasource"]["uid"] == DATASOURCE_UID
        assert target["rawQuery"] is True
        query = target["query"]
        assert query.startswith("SELECT "), panel["title"]
        assert ";" not in query, panel["title"]
        assert "$timeFilter" in query, panel["title"]


@pytest.mark.parametrize("uid", sorted(RENDERED))
def test_every_variable_used_is_defined(uid):
    model = RENDERED[uid]
    defined = {variable["name"] for variable in model["templating"]["list"]}
    texts = [v["query"] for v in model["templating"]["list"]]
    for panel in model["panels"]:
        texts.append(panel["targets"][0]["query"])
        texts.append(panel["targets"][0].get("alias", ""))
    used = {name for text in texts for name in re.findall(r"\$(\w+)", text)}
    used -= GRAFANA_MACROS
    used = {name for name in used if not name.startswith("tag_")}  # aliases name group-by tags
    assert used <= defined, f"undefined: {used - defined}"


def test_a_row_wider_than_the_grid_is_refused():
    wide = Dashboard(
        uid="x",
        title="x",
        folder="bureau",
        description="",
        variables=(),
        rows=((Panel("a", "stat", "SELECT 1", width=16), Panel("b", "stat", "SELECT 1", width=9)),),
    )
    with pytest.raises(ValueError, match="wider than 24"):
        wide.render()


def test_the_catalogue_lists_every_panel_and_variable_query():
    catalogue = (Path(__file__).resolve().parents[2] / "docs" / "dashboards.md").read_text()
    for dashboard in DASHBOARDS:
        for query in [v.query for v in dashboard.variables] + [p.query for p in dashboard.panels]:
            assert f"`{query}`" in catalogue, query
