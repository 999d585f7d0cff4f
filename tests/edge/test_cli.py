import subprocess
import sys
from pathlib import Path

from edge.cli import main

EXAMPLE = Path(__file__).parents[2] / "edge" / "examples" / "site.yaml"


def test_check_prints_ok_for_a_valid_file(capsys):
    assert main(["check", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith(f"OK {EXAMPLE}: gateway gw-liaocheng-0001")


def test_check_prints_every_problem_with_file_line_and_field(tmp_path, capsys):
    path = tmp_path / "site.yaml"
    path.write_text(EXAMPLE.read_text().replace("port: 8883", 'port: "8883"').replace(
        "mode: passive", "mode: sometimes"
    ))  # fmt: skip
    assert main(["check", str(path)]) == 1
    errors = capsys.readouterr().err.splitlines()
    lines = EXAMPLE.read_text().splitlines()
    port_line = next(i for i, line in enumerate(lines, 1) if "port: 8883" in line)
    mode_line = next(i for i, line in enumerate(lines, 1) if "mode: passive" in line)
    assert len(errors) == 2
    assert errors[0].startswith(f"{path}:{port_line}: mqtt.port: Input should be a valid integer")
    assert errors[1].startswith(f"{path}:{mode_line}: devices[0].mode: Input should be 'active'")


def test_run_refuses_an_invalid_file_before_starting(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("gateway: gw-1\n")
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert f"{path}:" in result.stderr
    assert "mqtt: Field required" in result.stderr


def test_run_refuses_an_untrustworthy_state_file(tmp_path):
    text = EXAMPLE.read_text().replace("/var/lib/lantian-edge", "state")
    (tmp_path / "site.yaml").write_text(text)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "gw-liaocheng-0001.seq.json").write_text("garbage")
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", str(tmp_path / "site.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "not JSON" in result.stderr
