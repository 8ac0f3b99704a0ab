"""The configuration file: every mistake on its own line, and the start stops."""
import subprocess
import sys

import pytest

from scriptserver.ioc.config import ConfigError, demo_config_path, load


def test_the_demo_configuration_loads_with_its_instrument():
    config = load()
    assert config.prefix == "P:" and config.source == demo_config_path()
    assert all(folder.is_dir() for folder in config.commands + config.scripts)
    assert config.interfaces == ["127.0.0.1"]


def test_overrides_win_over_the_file(tmp_path):
    config = load(prefix="IN:INST:CS:SS", state_dir=str(tmp_path))
    assert config.prefix == "IN:INST:CS:SS:" and config.state_dir == tmp_path


def test_each_mistake_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("commands: notalist\nscripts: [nowhere]\nabort_grace: -1\ncolour: red\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 5, lines
    for expected in ("unknown key 'colour'", "prefix is missing", "commands must be",
                     "abort_grace must be 0 or more", "folder"):
        assert any(expected in line for line in lines), expected


def test_a_bad_file_stops_the_start_with_a_clear_message(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("prefix: [\n")
    result = subprocess.run([sys.executable, "-m", "scriptserver.ioc", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and "Traceback" not in result.stderr
