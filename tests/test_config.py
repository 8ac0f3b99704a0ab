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


def test_access_defaults_to_loopback_managing_with_login(tmp_path):
    from scriptserver.ioc.access import Level, level
    access = load().access
    assert access.policy.login and access.session_seconds == 8 * 3600
    assert level(access.policy, "127.0.0.1", "x") is Level.MANAGE
    assert level(access.policy, "10.0.0.1", "x") is Level.NONE


def test_access_rules_and_acf_are_read(tmp_path):
    from scriptserver.ioc.access import Level, level
    demo = demo_config_path().parent
    path = tmp_path / "site.yaml"
    path.write_text(f"prefix: X\ncommands: [{demo / 'demo/commands'}]\naccess:\n"
                    "  login: false\n  session_hours: 0.5\n  rules:\n"
                    "    - {hosts: [10.1.2.0/24, localhost], level: operate}\n"
                    "    - {hosts: [10.1.2.7], users: [alice], level: manage}\n")
    access = load(path).access
    assert not access.policy.login and access.session_seconds == 1800
    assert level(access.policy, "10.1.2.7", "alice") is Level.MANAGE
    assert level(access.policy, "127.0.0.1", "bob") is Level.OPERATE
    (tmp_path / "site.acf").write_text("ASG(DEFAULT) { RULE(1, READ) }\n")
    path.write_text(f"prefix: X\ncommands: [{demo / 'demo/commands'}]\naccess: {{acf: site.acf}}\n")
    assert level(load(path).access.policy, "192.0.2.1", "x") is Level.READ


def test_each_access_mistake_is_one_line(tmp_path):
    demo = demo_config_path().parent
    path = tmp_path / "bad.yaml"
    path.write_text(f"prefix: X\ncommands: [{demo / 'demo/commands'}]\naccess:\n"
                    "  login: maybe\n  session_hours: -1\n  colour: red\n  rules:\n"
                    "    - {hosts: [10.1.2.300], level: operate}\n"
                    "    - {hosts: [127.0.0.1], level: admin}\n"
                    "    - {level: read}\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 6, lines
    for expected in ("login must be true or false", "session_hours must be", "unknown key 'colour'",
                     "rule 1: host '10.1.2.300'", "rule 2: level must be", "rule 3: hosts must"):
        assert any(expected in line for line in lines), expected
