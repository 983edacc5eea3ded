"""Every setting of the product, read from the environment once, with its default.

Bad combinations fail here, at start, with a message naming the variable.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BPMN_DIR = PROJECT_ROOT / "workflows" / "bpmn"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    province: str
    timezone: str
    instance_dir: Path
    default_sla: str
    https: bool = False  # served over HTTPS: session cookies are sent only over it

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _instance_dir(env: dict[str, str]) -> Path:
    path = Path(env.get("SIJOSKU_INSTANCE_DIR") or Path.cwd() / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(env: dict[str, str], instance_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    key_file = instance_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_dir = _instance_dir(env)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'sijosku.db'}"
    if not database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"DATABASE_URL harus sqlite:/// atau postgresql://, bukan {database_url!r}")
    province = env.get("SIJOSKU_PROVINCE", "65")
    if not (province.isdigit() and len(province) == 2):
        raise ConfigError(f"SIJOSKU_PROVINCE harus kode provinsi dua angka (mis. 65), bukan {province!r}")
    timezone = env.get("SIJOSKU_TIMEZONE", "Asia/Makassar")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"SIJOSKU_TIMEZONE tidak dikenal: {timezone!r}") from exc
    return Settings(
        database_url=database_url,
        secret_key=_secret_key(env, instance_dir),
        province=province,
        timezone=timezone,
        instance_dir=instance_dir,
        default_sla=env.get("SIJOSKU_DEFAULT_SLA", "P14D"),
        https=env.get("SIJOSKU_HTTPS", "0").lower() in ("1", "true", "ya", "yes"),
    )
