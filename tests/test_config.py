"""Settings for a cluster: typos are errors, a shared database needs a shared secret key, and the
pool, statement cache and process role are configurable."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerotrip.config import Settings, SettingsError
from zerotrip.db import Database

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def test_unknown_variable_is_an_error_that_names_it(tmp_path: Path) -> None:
    env = {"ZEROTRIP_DATA_DIR": str(tmp_path), "ZEROTRIP_COOKIE_SECRUE": "true"}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert "ZEROTRIP_COOKIE_SECRUE" in str(err.value)
    assert "ZEROTRIP_COOKIE_SECURE" in str(err.value)  # the likely meaning


def test_other_prefixes_are_not_ours(tmp_path: Path) -> None:
    env = {
        "ZEROTRIP": "x",
        "ZEROTRIPX_FOO": "1",
        "PATH": "/bin",
        "ZEROTRIP_DATA_DIR": str(tmp_path),
    }
    assert Settings.from_env(env).data_dir == tmp_path


@pytest.mark.parametrize(
    ("name", "raw"),
    [("PORT", "eighty"), ("COOKIE_SECURE", "maybe"), ("DB_POOL_SIZE", "1.5")],
)
def test_unparsable_value_names_the_variable(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=f"ZEROTRIP_{name}"):
        Settings.from_env({"ZEROTRIP_DATA_DIR": str(tmp_path), f"ZEROTRIP_{name}": raw})


def test_shared_database_refuses_a_generated_secret(tmp_path: Path) -> None:
    env = {"ZEROTRIP_DATA_DIR": str(tmp_path), "ZEROTRIP_DATABASE_URL": PG}
    with pytest.raises(SettingsError, match="ZEROTRIP_SECRET_KEY"):
        Settings.from_env(env)
    assert not (tmp_path / "secret_key").exists()  # nothing generated on the way
    given = Settings.from_env({**env, "ZEROTRIP_SECRET_KEY": "shared"})
    assert given.secret_key == "shared"


def test_sqlite_keeps_one_generated_secret_across_starts(tmp_path: Path) -> None:
    env = {"ZEROTRIP_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env).secret_key
    assert first and Settings.from_env(env).secret_key == first


@pytest.mark.parametrize(
    ("name", "raw"),
    [("ROLE", "janitor"), ("STORAGE", "floppy"), ("LOG_FORMAT", "xml"), ("STORAGE", "s3")],
)
def test_choices_are_checked(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=f"ZEROTRIP_{name}|ZEROTRIP_S3_BUCKET"):
        Settings.from_env({"ZEROTRIP_DATA_DIR": str(tmp_path), f"ZEROTRIP_{name}": raw})


async def test_pool_and_statement_cache_reach_the_engine(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "ZEROTRIP_DATA_DIR": str(tmp_path),
            "ZEROTRIP_DATABASE_URL": PG,
            "ZEROTRIP_SECRET_KEY": "k",
            "ZEROTRIP_DB_POOL_SIZE": "3",
            "ZEROTRIP_DB_MAX_OVERFLOW": "1",
            "ZEROTRIP_DB_STATEMENT_CACHE_SIZE": "0",
            "ZEROTRIP_ROLE": "worker",
        }
    )
    assert settings.role == "worker"
    db = Database(settings)
    try:
        pool = db.engine.pool
        assert pool.size() == 3 and pool._max_overflow == 1  # type: ignore[attr-defined]
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver._stmt_cache.get_max_size() == 0  # type: ignore[union-attr]
    finally:
        await db.dispose()
