"""Settings: a good file loads; every kind of mistake fails with the file, the key and the reason."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import get_args

import pytest

import tesoro.settings
from tesoro.settings import ConfigError, load_settings, parse_interval
from tesoro.settings.base import Section
from tesoro.settings.catalog import PlatformName

EXAMPLE = Path(__file__).parents[1] / "config" / "tesoro.example.toml"

MINIMAL = """
[[brands]]
name = "Acme"

[[queries]]
name = "acme"
brand = "Acme"
query = "acme OR #acme"

[[sources]]
name = "x-acme"
platform = "x"
query = "acme"
interval = "5m"
credentials = { bearer_token_env = "ACME_X_TOKEN" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tesoro.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert str(path) in str(info.value), "the error must name the file"
    return info.value


def test_example_file_loads_and_documents_every_source_platform() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert {s.platform for s in settings.sources} == set(get_args(PlatformName))
    assert settings.source("x-mentions").interval == 300
    assert (
        settings.database_url.endswith("/config/data/tesoro.db") or "data/tesoro.db" in settings.database_url
    )


def test_minimal_file_and_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'data/tesoro.db'}"
    assert settings.server.port == 8000
    assert settings.source("x-acme").credentials == {"bearer_token_env": "ACME_X_TOKEN"}


def test_no_file_means_embedded_defaults() -> None:
    settings = load_settings(None, environ={})
    assert settings.sources == []
    assert settings.database_url.startswith("sqlite:///")


def test_env_overrides_file(tmp_path: Path) -> None:
    env = {
        "TESORO_DATABASE_URL": "postgresql://u@db:5432/t",
        "TESORO_SERVER__PORT": "9001",
        "TESORO_LOG_LEVEL": "DEBUG",
    }
    settings = load_settings(write(tmp_path, MINIMAL), environ=env)
    assert settings.database_url == "postgresql+psycopg://u@db:5432/t"
    assert settings.server.port == 9001
    assert settings.log_level == "DEBUG"


def test_config_path_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_settings(None, environ={"TESORO_CONFIG": str(path)}).brands[0].name == "Acme"


def test_bad_env_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(write(tmp_path, MINIMAL), environ={"TESORO_SERVER__PORT": "eighty"})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_invalid_toml_reports_line(tmp_path: Path) -> None:
    error = problems_of(tmp_path, "[server]\nport = = 3\n")
    assert "not valid TOML" in str(error) and "line 2" in str(error)


def test_unknown_key_is_a_typo(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + "\n[server]\nprot = 80\n")
    assert error.problems == [("server.prot", error.problems[0][1])]
    assert "unknown key" in error.problems[0][1]


def test_wrong_type(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + '\n[server]\nport = "eighty"\n')
    assert error.problems[0][0] == "server.port"


def test_out_of_range(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + "\n[server]\nport = 70000\n")
    assert error.problems[0][0] == "server.port"
    assert "65535" in error.problems[0][1]


def test_unknown_platform(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('platform = "x"', 'platform = "myspace"'))
    assert error.problems[0][0] == "sources[0].platform"


def test_bad_interval(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('interval = "5m"', 'interval = "often"'))
    assert error.problems[0][0] == "sources[0].interval"
    assert "not a duration" in error.problems[0][1]


def test_interval_too_short(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('interval = "5m"', 'interval = "2s"'))
    assert "at least 10 seconds" in error.problems[0][1]


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'credentials = { bearer_token_env = "ACME_X_TOKEN" }',
        'credentials = { bearer_token = "AAAA-real-secret" }',
    )
    error = problems_of(tmp_path, text)
    assert error.problems[0][0] == "sources[0].credentials.bearer_token"
    assert "bearer_token_env" in error.problems[0][1]
    assert "AAAA-real-secret" not in str(error), "the secret itself must not be echoed"


def test_credentials_must_name_env_vars(tmp_path: Path) -> None:
    text = MINIMAL.replace('"ACME_X_TOKEN"', '"not a var"')
    error = problems_of(tmp_path, text)
    assert error.problems[0][0] == "sources[0].credentials"


def test_unknown_references(tmp_path: Path) -> None:
    text = MINIMAL.replace('query = "acme"\ninterval', 'query = "other"\ninterval') + (
        '\n[[products]]\nname = "Widget"\nbrand = "Nobody"\n'
    )
    error = problems_of(tmp_path, text)
    message = str(error)
    assert "products[0].brand: unknown brand 'Nobody'" in message
    assert "sources[0].query: unknown query 'other'" in message


def test_duplicate_names(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + '\n[[brands]]\nname = "Acme"\n')
    assert "brands: the name 'Acme' is used twice" in str(error)


def test_source_without_query(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('query = "acme"\ninterval', "interval"))
    assert "needs `query`" in str(error)


def test_file_source_needs_path(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + '\n[[sources]]\nname = "dump"\nplatform = "file"\n')
    assert error.problems[0][0] == "sources[1]"
    assert "needs `path`" in error.problems[0][1]


def test_bad_query_syntax_points_at_position(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('query = "acme OR #acme"', 'query = "(acme OR"'))
    assert error.problems[0][0].startswith("queries[0].query")


def test_bad_database_url(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL + '\n[database]\nurl = "mysql://x"\n')
    assert error.problems[0][0] == "database.url"


def test_bad_name_slug(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MINIMAL.replace('name = "x-acme"', 'name = "X Acme!"'))
    assert error.problems[0][0] == "sources[0].name"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400), (600, 600)]
)
def test_parse_interval(text: str | int, seconds: int) -> None:
    assert parse_interval(text) == seconds


def test_secret_lookup_names_the_variable(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), environ={})
    with pytest.raises(ConfigError, match=r"ACME_X_TOKEN.*export"):
        settings.secret("ACME_X_TOKEN", {})
    assert settings.secret("ACME_X_TOKEN", {"ACME_X_TOKEN": "t"}) == "t"


def test_secret_env_vars_with_the_prefix_are_not_overrides(tmp_path: Path) -> None:
    env = {"TESORO_X_BEARER_TOKEN": "secret", "TESORO_SLACK_WEBHOOK_URL": "https://hooks.example/x"}
    settings = load_settings(write(tmp_path, MINIMAL), environ=env)
    assert settings.server.port == 8000


def test_override_of_a_section_key_typo_still_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.prot"):
        load_settings(write(tmp_path, MINIMAL), environ={"TESORO_SERVER__PROT": "1"})


def test_every_section_is_importable_from_the_package() -> None:
    """The package is split by domain for reading; callers import every name from tesoro.settings."""
    exported = set(tesoro.settings.__all__)
    assert all(hasattr(tesoro.settings, name) for name in exported)
    for info in pkgutil.iter_modules(tesoro.settings.__path__):
        module = importlib.import_module(f"tesoro.settings.{info.name}")
        sections = {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Section) and value is not Section
        }
        assert sections <= exported, f"tesoro.settings.{info.name} defines unexported {sections - exported}"
    assert {"Settings", "load_settings", "ConfigError", "parse_interval"} <= exported


@pytest.mark.parametrize("name", ["tesoro.example.toml", "demo.toml"])
def test_the_packaged_settings_files_are_the_ones_in_config(name: str) -> None:
    """`tesoro init` and `tesoro demo` read the files inside the package; config/ links to them, and a
    copy put in place of a link (an in-place `sed -i` does that) must not drift from them."""
    packaged = Path(tesoro.settings.__file__).parents[1] / "data" / name
    assert packaged.read_text(encoding="utf-8") == (EXAMPLE.parent / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("first", "second", "slug"),
    [("Andes Outdoor", "Andés Outdoor", "andes-outdoor"), ("ACME", "Acme", "acme")],
)
def test_brands_that_fold_to_one_gallery_slug_are_refused(
    tmp_path: Path, first: str, second: str, slug: str
) -> None:
    """Two brands, one `/gallery/{slug}`: start-up fails naming both and the slug they share."""
    text = f'[[brands]]\nname = "{first}"\n\n[[brands]]\nname = "{second}"\n'
    message = str(problems_of(tmp_path, text))
    assert f"{first!r} and {second!r} fold to the same gallery URL slug {slug!r}" in message
    assert f"/gallery/{slug}" in message and "rename one" in message


def test_products_of_one_brand_that_fold_to_one_slug_are_refused(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[products]]\nname = "Río Jacket"\nbrand = "Acme"\n'
    text += '\n[[products]]\nname = "Rio jacket"\nbrand = "Acme"\n'
    message = str(problems_of(tmp_path, text))
    assert "'Río Jacket' and 'Rio jacket' fold to the same gallery URL slug 'rio-jacket'" in message


def test_a_brand_without_a_slug_is_refused(tmp_path: Path) -> None:
    message = str(problems_of(tmp_path, '[[brands]]\nname = "★★★"\n'))
    assert "'★★★' has no letter or digit for its gallery URL" in message


def test_distinct_slugs_load(tmp_path: Path) -> None:
    text = '[[brands]]\nname = "Andes Outdoor"\n\n[[brands]]\nname = "Andes Indoor"\n'
    settings = load_settings(write(tmp_path, text), environ={})
    assert [b.name for b in settings.brands] == ["Andes Outdoor", "Andes Indoor"]
