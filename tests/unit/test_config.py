"""Settings come from the environment: a local secret is made once, production insists on its own."""
import pytest

from coop import config, create_app


def test_a_local_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path / "instance")
    first = config.local_secret_key()
    assert len(first) == 64
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0, "readable by others"
    assert config.local_secret_key() == first


def test_the_app_uses_the_local_key_when_none_is_given(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    local = type("Local", (config.Config,), {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app(local)
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    production = type("Prod", (config.ProductionConfig,), {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(production)
    assert not (tmp_path / "secret_key").exists()


def test_production_cookies_are_secure():
    assert config.ProductionConfig.SESSION_COOKIE_SECURE and config.ProductionConfig.REMEMBER_COOKIE_SECURE
    assert config.Config.SESSION_COOKIE_HTTPONLY and config.Config.REMEMBER_COOKIE_HTTPONLY


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/coop", "postgresql+psycopg://u:p@db:5432/coop"),
        ("postgres://u:p@db/coop", "postgresql+psycopg://u:p@db/coop"),
        ("postgresql+psycopg://u@db/coop", "postgresql+psycopg://u@db/coop"),
        ("sqlite:////var/lib/coop.sqlite", "sqlite:////var/lib/coop.sqlite"),
    ],
)
def test_database_url_from_the_environment(monkeypatch, given, used):
    monkeypatch.setenv("DATABASE_URL", given)
    assert config._database_url() == used


def test_without_database_url_sqlite_lives_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    assert config._database_url() == f"sqlite:///{tmp_path / 'entraide.sqlite'}"


def test_behind_a_trusted_proxy_https_and_the_client_address_are_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    proxied = type("Proxied", (config.Config,), {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                                                 "TRUSTED_PROXIES": 1})
    app = create_app(proxied)
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    direct = type("Direct", (config.Config,), {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = create_app(direct).test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


# --- Where links point, and which hosts are served (issue 15) ---------------------------------------------------


def _app(tmp_path, monkeypatch, base=config.Config, **settings):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    return create_app(type("Custom", (base,), {"SECRET_KEY": "x", "CHAIN_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                                               **settings}))


def test_production_refuses_to_start_without_a_base_url(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="BASE_URL"):
        _app(tmp_path, monkeypatch, config.ProductionConfig, BASE_URL="")


def test_production_serves_only_the_host_of_its_base_url_unless_told_otherwise(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, config.ProductionConfig, BASE_URL="https://entraide.example/", TRUSTED_HOSTS=None)
    assert app.config["TRUSTED_HOSTS"] == ["entraide.example"]
    client = app.test_client()
    assert client.get("/healthz", base_url="https://entraide.example").status_code == 200
    assert client.get("/healthz", base_url="https://evil.example").status_code == 400


def test_locally_only_127_0_0_1_and_localhost_are_served(tmp_path, monkeypatch):
    client = _app(tmp_path, monkeypatch).test_client()
    assert client.get("/healthz", base_url="http://127.0.0.1:5000").status_code == 200
    assert client.get("/healthz", base_url="http://localhost").status_code == 200
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400


def test_a_forwarded_host_counts_only_through_a_trusted_proxy_and_must_be_trusted_too(tmp_path, monkeypatch):
    direct = _app(tmp_path, monkeypatch).test_client()
    assert direct.get("/healthz", headers={"X-Forwarded-Host": "evil.example"}).status_code == 200  # ignored
    proxied = _app(tmp_path, monkeypatch, TRUSTED_PROXIES=1).test_client()
    assert proxied.get("/healthz", headers={"X-Forwarded-Host": "localhost"}).status_code == 200
    assert proxied.get("/healthz", headers={"X-Forwarded-Host": "evil.example"}).status_code == 400


def test_the_chain_key_is_kept_outside_the_database_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    local = type("Local", (config.Config,), {"SECRET_KEY": "x", "CHAIN_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app(local)
    assert app.config["CHAIN_KEY"] == (tmp_path / "chain_key").read_text() != app.config["SECRET_KEY"]
    assert create_app(local).config["CHAIN_KEY"] == app.config["CHAIN_KEY"]  # made once, kept


def test_production_refuses_to_start_without_a_chain_key(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    production = type("Prod", (config.ProductionConfig,), {"SECRET_KEY": "x", "CHAIN_KEY": None,
                                                           "BASE_URL": "https://entraide.example",
                                                           "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(RuntimeError, match="COOP_CHAIN_KEY"):
        create_app(production)
    assert not (tmp_path / "chain_key").exists()
