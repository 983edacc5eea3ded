"""Every setting of the product, read from the environment once, with its default.

Bad combinations fail here, at start, with a message naming the variable.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import workflows

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The default process definitions ship inside the `workflows` package, so an installed wheel has them.
DEFAULT_BPMN_DIR = Path(workflows.__file__).resolve().parent / "bpmn"
TLS_MODES = ("starttls", "ssl", "none")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


# The zones of Indonesia as people name them; a deployment elsewhere shows the zone's own name.
INDONESIAN_ZONES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


@dataclass(frozen=True)
class SmtpSettings:
    """Outgoing email; without a host, email waits in its outbox."""

    host: str = ""
    port: int = 587
    tls: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = "sijosku@localhost"


@dataclass(frozen=True)
class ServiceSettings:
    """Another system reached over HTTP; without a base URL it is not called."""

    base_url: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0  # seconds per call
    retries: int = 3  # attempts per call, with exponential backoff between them
    backoff: float = 0.5  # seconds before the second attempt; doubled each time
    breaker_failures: int = 5  # consecutive failed calls that open the circuit breaker
    breaker_reset: float = 60.0  # seconds the breaker stays open before one trial call


@dataclass(frozen=True)
class DukcapilSettings(ServiceSettings):
    """The civil registry's NIK service; without a base URL the sync job does nothing."""

    batch: int = 200  # records checked per scheduled run (every minute)


@dataclass(frozen=True)
class DtsenSettings(ServiceSettings):
    """The DTSEN extract's endpoint, read page by page; bounded so a wrong answer cannot fill the disk."""

    max_rows: int = 5_000_000  # an extract larger than this is refused
    page_size: int = 10_000  # rows asked for per page


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str = field(repr=False)
    province: str
    timezone: str
    instance_dir: Path
    default_sla: str
    https: bool = False  # served over HTTPS: session cookies are sent only over it
    base_url: str = "http://127.0.0.1:5000"  # the address people open; links in emails start with it
    assets_dir: Path = PROJECT_ROOT / "node_modules"  # front-end packages installed from npm
    smtp: SmtpSettings = SmtpSettings()
    dukcapil: DukcapilSettings = DukcapilSettings()
    dtsen: DtsenSettings = DtsenSettings()
    # Days a finished instance keeps its serialized state, per process key; unlisted keys keep it.
    instance_retention: tuple[tuple[str, int], ...] = ()
    ratelimit_storage: str = "memory://"  # per process; redis://host:6379 shares API limits across nodes
    # A database that does not answer fails a request after these many seconds instead of hanging it.
    db_connect_timeout: int = 5
    db_statement_timeout: int = 30
    log_json: bool = False  # one JSON object per log line, for a log collector
    # Minutes a signed-in session lasts without a request: a browser left open on a shared office PC
    # is signed out; someone working is never cut off (each request starts the count again).
    session_idle_minutes: int = 120
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none). Sign-in
    # back-off counts per client address, which behind a proxy is only known from that header.
    proxy_hops: int = 0
    # Seconds one minute's run of the scheduled import job keeps looking for uploads to process, so
    # that an upload starts within a second or two rather than at the next minute.
    import_poll: int = 50

    @property
    def annex_fonts(self) -> Path:
        """DejaVu Sans (npm `dejavu-fonts-ttf`): a determination's PDF prints every character of a
        name or a decree number as written, which the PDF's own Latin-1 fonts cannot."""
        return self.assets_dir / "dejavu-fonts-ttf" / "ttf"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def zone_name(self) -> str:
        """How people in Indonesia name the zone times are shown in (WIB, WITA, WIT); else its name."""
        return INDONESIAN_ZONES.get(self.timezone, self.timezone)

    @property
    def upload_dir(self) -> Path:
        return self.instance_dir / "uploads"


def _instance_dir(env: dict[str, str]) -> Path:
    path = Path(env.get("SIJOSKU_INSTANCE_DIR") or Path.cwd() / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path


SECRET_KEY_CHARS = 32  # a key served over HTTPS at least this long: every visitor gets a cookie signed with
# it, against which guesses of a short key can be tried offline, and the key found signs any session


def _secret_key(env: dict[str, str], instance_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if env.get("SECRET_KEY"):
        if _flag(env, "SIJOSKU_HTTPS") and len(env["SECRET_KEY"]) < SECRET_KEY_CHARS:
            raise ConfigError(
                f"SECRET_KEY terlalu pendek untuk layanan produksi (SIJOSKU_HTTPS=1): minimal {SECRET_KEY_CHARS} "
                "karakter acak, mis. dari `python3 -c 'import secrets; print(secrets.token_hex(32))'`, atau "
                "kosongkan agar SIJOSKU membuatnya sendiri di direktori instance"
            )
        return env["SECRET_KEY"]
    key_file = instance_dir / "secret_key"
    if not key_file.exists():
        # written whole and its owner's alone before it takes the name: another process of the same
        # start reads either no key or the whole one, and the first to link it is the one kept
        fd, draft = tempfile.mkstemp(dir=instance_dir, prefix=".secret_key.")  # 0600, a name of its own
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        except OSError:  # a folder without hard links (SMB/CIFS, vfat, some FUSE mounts): created exclusively
            _create_exclusively(key_file, Path(draft).read_text())
        finally:
            Path(draft).unlink(missing_ok=True)
    return _read_key(key_file)


def _read_key(key_file: Path, tries: int = 50) -> str:
    """The key, once whole: made without a hard link, another process of the same start may have
    created the file exclusively and not yet written it (an empty key would sign no session)."""
    for _ in range(tries):
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.1)
    raise ConfigError(f"Berkas {key_file} tidak memuat kunci utuh; hapus berkas itu lalu mulai ulang layanan")


def _create_exclusively(key_file: Path, key: str) -> None:
    """The key under its name, unless another process of the same start made it first."""
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(key)


def _flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "0").lower() in ("1", "true", "ya", "yes")


def _int(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not (text.isascii() and text.isdigit()):
        raise ConfigError(f"{name} harus bilangan bulat, bukan {text!r}")
    return int(text)


def _positive(env: dict[str, str], name: str, default: int, unit: str = "detik") -> int:
    value = _int(env, name, default)
    if value <= 0:
        raise ConfigError(f"{name} harus lebih dari 0 {unit}")
    return value


def _smtp(env: dict[str, str]) -> SmtpSettings:
    tls = env.get("SIJOSKU_SMTP_TLS", "starttls")
    if tls not in TLS_MODES:
        raise ConfigError(f"SIJOSKU_SMTP_TLS harus starttls, ssl atau none, bukan {tls!r}")
    return SmtpSettings(
        host=env.get("SIJOSKU_SMTP_HOST", ""),
        port=_int(env, "SIJOSKU_SMTP_PORT", 587),
        tls=tls,
        user=env.get("SIJOSKU_SMTP_USER", ""),
        password=env.get("SIJOSKU_SMTP_PASSWORD", ""),
        sender=env.get("SIJOSKU_SMTP_FROM", "sijosku@localhost"),
    )


def _number(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name, str(default))
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(f"{name} harus angka, bukan {text!r}") from exc
    if not math.isfinite(value):  # a wait of "nan" or "inf" would never be bounded, or break the first retry
        raise ConfigError(f"{name} harus angka terhingga, bukan {text!r}")
    if value < 0:
        raise ConfigError(f"{name} tidak boleh negatif")
    return value


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _service(env: dict[str, str], prefix: str) -> dict[str, Any]:
    """The settings every HTTP adapter shares, read from `{prefix}_URL`, `{prefix}_TIMEOUT`, ..."""
    url = env.get(f"{prefix}_URL", "").rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{prefix}_URL harus http:// atau https://, bukan {url!r}")
    # in production, credentials and every NIK asked would cross the network in clear (a simulator on
    # this machine is the one exception)
    if url.startswith("http://") and _flag(env, "SIJOSKU_HTTPS") and urlsplit(url).hostname not in LOOPBACK:
        raise ConfigError(f"{prefix}_URL harus https:// untuk layanan produksi (SIJOSKU_HTTPS=1), bukan {url!r}")
    return {
        "base_url": url,
        "user": env.get(f"{prefix}_USER", ""),
        "password": env.get(f"{prefix}_PASSWORD", ""),
        "timeout": _number(env, f"{prefix}_TIMEOUT", 10.0),
        "retries": max(1, _int(env, f"{prefix}_RETRIES", 3)),
        "backoff": _number(env, f"{prefix}_BACKOFF", 0.5),
        "breaker_failures": max(1, _int(env, f"{prefix}_BREAKER_FAILURES", 5)),
        "breaker_reset": _number(env, f"{prefix}_BREAKER_RESET", 60.0),
    }


def _dukcapil(env: dict[str, str]) -> DukcapilSettings:
    common = _service(env, "SIJOSKU_DUKCAPIL")
    return DukcapilSettings(**common, batch=max(1, _int(env, "SIJOSKU_DUKCAPIL_BATCH", 200)))


def _dtsen(env: dict[str, str]) -> DtsenSettings:
    common = _service(env, "SIJOSKU_DTSEN")
    return DtsenSettings(
        **common,
        max_rows=max(1, _int(env, "SIJOSKU_DTSEN_MAX_ROWS", 5_000_000)),
        page_size=min(max(1, _int(env, "SIJOSKU_DTSEN_PAGE_SIZE", 10_000)), 100_000),
    )


def _retention(env: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """`SIJOSKU_INSTANCE_RETENTION=verifikasi_berjenjang=1825,other=365`: days per process key."""
    rules = []
    for part in filter(None, (p.strip() for p in env.get("SIJOSKU_INSTANCE_RETENTION", "").split(","))):
        key, _, days = part.partition("=")
        if not key.strip() or not (days.strip().isascii() and days.strip().isdigit() and int(days) > 0):
            raise ConfigError(
                f"SIJOSKU_INSTANCE_RETENTION berisi kunci_proses=hari dipisah koma, mis. "
                f"verifikasi_berjenjang=1825; {part!r} tidak terbaca"
            )
        rules.append((key.strip(), int(days)))
    return tuple(rules)


LONGEST_SLA_DAYS = 366
_ISO_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_DAYS_PER = (366, 31, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)


def _duration(env: dict[str, str], name: str, default: str) -> str:
    """An ISO 8601 duration (P14D, P2W, PT36H): written into every instance a cycle opens, a wrong
    one would stop each of them at its first deadline."""
    written = env.get(name, default).strip()
    value = written.upper()
    match = _ISO_DURATION.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise ConfigError(
            f"{name} harus durasi ISO 8601 seperti P14D (14 hari), P2W atau PT36H, bukan {written[:20]!r}"
        )
    days = sum(int(n) * per for n, per in zip(match.groups(), _DAYS_PER, strict=True) if n)
    if not 0 < days <= LONGEST_SLA_DAYS:
        raise ConfigError(f"{name} harus lebih dari nol dan paling lama {LONGEST_SLA_DAYS} hari, bukan {value!r}")
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_dir = _instance_dir(env)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'sijosku.db'}"
    if not database_url.startswith(("sqlite", "postgresql")):
        scheme = database_url.split(":", 1)[0][:20]  # the rest may hold a password
        raise ConfigError(f"DATABASE_URL harus sqlite:/// atau postgresql://, bukan {scheme}://…")
    province = env.get("SIJOSKU_PROVINCE", "65")
    if not (province.isascii() and province.isdigit() and len(province) == 2):
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
        default_sla=_duration(env, "SIJOSKU_DEFAULT_SLA", "P14D"),
        https=_flag(env, "SIJOSKU_HTTPS"),
        proxy_hops=_int(env, "SIJOSKU_PROXY_HOPS", 0),
        base_url=env.get("SIJOSKU_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        assets_dir=Path(env.get("SIJOSKU_ASSETS_DIR") or PROJECT_ROOT / "node_modules"),
        smtp=_smtp(env),
        dukcapil=_dukcapil(env),
        dtsen=_dtsen(env),
        instance_retention=_retention(env),
        ratelimit_storage=env.get("SIJOSKU_RATELIMIT_STORAGE", "memory://"),
        db_connect_timeout=_positive(env, "SIJOSKU_DB_CONNECT_TIMEOUT", 5),
        db_statement_timeout=_positive(env, "SIJOSKU_DB_STATEMENT_TIMEOUT", 30),
        log_json=_flag(env, "SIJOSKU_LOG_JSON"),
        import_poll=_int(env, "SIJOSKU_IMPORT_POLL", 50),
        session_idle_minutes=_positive(env, "SIJOSKU_SESSION_IDLE_MINUTES", 120, "menit"),
    )
