"""Settings read from the environment: a wrong one is refused at start by its name, and what a
person writes on the command line wins over the environment file."""

from __future__ import annotations

import errno
import os

import pytest
from click.testing import CliRunner

from engine.core.config import ConfigError, load_settings


@pytest.fixture
def env(tmp_path):
    return {"SECRET_KEY": "uji", "SIJOSKU_INSTANCE_DIR": str(tmp_path)}


@pytest.mark.parametrize("written", ["P14D", "P2W", "PT36H", "P1M", "p7d"])
def test_a_deadline_written_as_iso_8601_is_taken(env, written):
    assert load_settings({**env, "SIJOSKU_DEFAULT_SLA": written}).default_sla == written.upper()


@pytest.mark.parametrize("written", ["14 hari", "P", "PT", "P14", "P0D", "P9999999Y"])
def test_a_wrong_deadline_is_refused_at_start_not_in_every_instance_later(env, written):
    with pytest.raises(ConfigError, match="SIJOSKU_DEFAULT_SLA"):
        load_settings({**env, "SIJOSKU_DEFAULT_SLA": written})


def test_a_short_secret_key_is_refused_where_the_service_is_served_over_https(env):
    """Each visitor's cookie is signed with the key: a short one can be guessed offline against it,
    and then any session forged. Over HTTPS (production) it is refused at start; a generated one is long."""
    with pytest.raises(ConfigError, match="SECRET_KEY terlalu pendek"):
        load_settings({**env, "SECRET_KEY": "x", "SIJOSKU_HTTPS": "1"})
    with pytest.raises(ConfigError, match="SECRET_KEY terlalu pendek"):
        load_settings({**env, "SECRET_KEY": "k" * 31, "SIJOSKU_HTTPS": "1"})
    assert load_settings({**env, "SECRET_KEY": "k" * 32, "SIJOSKU_HTTPS": "1"}).secret_key == "k" * 32
    generated = load_settings({**env, "SECRET_KEY": "", "SIJOSKU_HTTPS": "1"}).secret_key
    assert len(generated) == 64 and load_settings({**env, "SECRET_KEY": ""}).secret_key == generated
    assert load_settings(env).secret_key == "uji"  # a developer's machine, not served over HTTPS


def test_a_registry_over_plain_http_is_refused_in_production_except_on_this_machine(env):
    """Its credentials and every NIK asked would cross the network in clear."""
    production = {**env, "SECRET_KEY": "k" * 32, "SIJOSKU_HTTPS": "1"}
    for prefix in ("SIJOSKU_DUKCAPIL", "SIJOSKU_DTSEN"):
        with pytest.raises(ConfigError, match=f"{prefix}_URL harus https://"):
            load_settings({**production, f"{prefix}_URL": "http://dukcapil.kaltara.go.id"})
    assert load_settings({**production, "SIJOSKU_DUKCAPIL_URL": "http://127.0.0.1:8089"}).dukcapil.base_url
    assert load_settings({**env, "SIJOSKU_DUKCAPIL_URL": "http://dukcapil.test"}).dukcapil.base_url  # development


def test_a_refused_database_url_does_not_repeat_its_password(env):
    with pytest.raises(ConfigError) as refused:
        load_settings({**env, "DATABASE_URL": "mysql://sijosku:Sangat-Rahasia-123@db/sijosku"})
    assert "Sangat-Rahasia-123" not in str(refused.value) and "mysql" in str(refused.value)


def test_the_address_written_on_the_command_line_wins_over_the_environment(monkeypatch, tmp_path):
    from web.cli import main, setup

    started = []
    monkeypatch.setattr(setup.os, "execvp", lambda *args: started.append(os.environ["SIJOSKU_BIND"]))
    monkeypatch.setattr(setup, "require_current_schema", lambda db: None)  # no database here: the bind only
    monkeypatch.setenv("SIJOSKU_BIND", "0.0.0.0:8000")
    monkeypatch.setenv("SIJOSKU_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "uji")
    CliRunner().invoke(main, ["serve", "--bind", "127.0.0.1:8765"], catch_exceptions=False)
    monkeypatch.setenv("SIJOSKU_BIND", "0.0.0.0:8000")  # as a new process finds it (serve execs gunicorn)
    CliRunner().invoke(main, ["serve"], catch_exceptions=False)  # unset on the command line: the setting's
    assert started == ["127.0.0.1:8765", "0.0.0.0:8000"]


def test_serve_says_a_wrong_setting_once_before_starting_any_worker(monkeypatch, tmp_path):
    from web.cli import main, setup

    started = []
    monkeypatch.setattr(setup.os, "execvp", lambda *args: started.append(args))
    env = {"SIJOSKU_DEFAULT_SLA": "14 hari", "SECRET_KEY": "uji", "SIJOSKU_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1 and "SIJOSKU_DEFAULT_SLA" in result.output and started == []


def test_a_key_made_at_start_is_its_owners_alone_from_the_first_moment(tmp_path):
    instance = tmp_path / "bersama"
    key = load_settings({"SIJOSKU_INSTANCE_DIR": str(instance), "SECRET_KEY": ""}).secret_key
    assert len(key) == 64 and (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no draft left beside it


def test_nodes_starting_at_once_on_a_shared_folder_read_the_key_the_first_one_kept(tmp_path, monkeypatch):
    """Each writes its key whole under a name of its own; the first to give it the name wins."""
    from engine.core import config

    instance = tmp_path / "bersama"
    instance.mkdir()
    real_link = os.link

    def another_node_first(src, dst, *args, **kwargs):
        (instance / "draft-of-the-other-node").write_text("kunci-node-lain")
        real_link(instance / "draft-of-the-other-node", dst)
        os.unlink(instance / "draft-of-the-other-node")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(config.os, "link", another_node_first)
    settings = load_settings({"SIJOSKU_INSTANCE_DIR": str(instance), "SECRET_KEY": ""})
    assert settings.secret_key == "kunci-node-lain"
    assert [p.name for p in instance.iterdir()] == ["secret_key"]


def test_a_key_is_made_on_an_instance_folder_without_hard_links(tmp_path, monkeypatch):
    """A shared folder that cannot link (SMB/CIFS, vfat): the key is created there exclusively instead."""
    from engine.core import config

    def no_hard_links(src, dst, *args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(dst))

    monkeypatch.setattr(config.os, "link", no_hard_links)
    instance = tmp_path / "smb"
    key = config.load_settings({"SIJOSKU_INSTANCE_DIR": str(instance), "SECRET_KEY": ""}).secret_key
    assert len(key) == 64 and (instance / "secret_key").read_text().strip() == key
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in instance.iterdir()] == ["secret_key"]


def test_a_process_racing_on_a_folder_without_hard_links_never_runs_with_an_empty_key(tmp_path, monkeypatch):
    """Another worker of the same start has created `secret_key` exclusively but not yet written it:
    this one waits for the key rather than sign sessions with none (nobody could sign in)."""
    import time

    from engine.core import config

    instance = tmp_path / "smb"
    instance.mkdir()

    def other_worker_created_it_first(src, dst, *args, **kwargs):
        (instance / "secret_key").touch(mode=0o600)  # its os.open(O_EXCL) done, its write not yet
        raise PermissionError(errno.EPERM, "Operation not permitted", str(dst))

    monkeypatch.setattr(config.os, "link", other_worker_created_it_first)
    monkeypatch.setattr(time, "sleep", lambda s: (instance / "secret_key").write_text("k" * 64))  # it writes meanwhile
    key = config.load_settings({"SIJOSKU_INSTANCE_DIR": str(instance), "SECRET_KEY": ""}).secret_key
    assert key == "k" * 64
