"""Entraide: cooperative investment clubs (pooled savings, one-member-one-vote
decisions on local projects, time credits, a double-entry ledger)."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytz
from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import INSTANCE, ROOT, Config, ProductionConfig, local_secret_key
from .database import configure_engine
from .extensions import babel, csrf, db, limiter, login_manager, migrate


def default_config() -> type[Config]:
    return ProductionConfig if os.environ.get("COOP_ENV") == "production" else Config


def create_app(config_class: type[Config] | None = None) -> Flask:
    config_class = config_class or default_config()
    app = Flask(
        __name__,
        instance_path=str(INSTANCE),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_class)
    _secret_key(app)
    _addresses(app)
    _chain_key(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    from . import ratelimit  # noqa: F401  (registers the entraide+db:// store before the limiter picks its store)

    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from . import models  # noqa: F401  (tables known to Alembic and create_all)
    from .services.auth import load_by_session_token

    login_manager.user_loader(load_by_session_token)

    from .web import register_web

    register_web(app)

    from .api import register_api

    register_api(app)

    from .cli import coop_cli

    app.cli.add_command(coop_cli)
    return app


def _secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("PRODUCTION"):
        raise RuntimeError("SECRET_KEY must be set in the environment in production.")
    app.config["SECRET_KEY"] = local_secret_key()


def _addresses(app: Flask) -> None:
    """Where links in mail point, and which hosts are served: never what a request's Host header says."""
    base_url = app.config.get("BASE_URL")
    if not base_url:
        if app.config.get("PRODUCTION"):
            raise RuntimeError("BASE_URL must be set in the environment in production (the address members use).")
        base_url = app.config["BASE_URL"] = "http://127.0.0.1:5000"
    if app.config.get("TRUSTED_HOSTS") is None:
        if app.config.get("PRODUCTION"):
            app.config["TRUSTED_HOSTS"] = [urlsplit(base_url).hostname]
        else:
            app.config["TRUSTED_HOSTS"] = ["127.0.0.1", "localhost"]


def _chain_key(app: Flask) -> None:
    """The hash chain's key: from the environment in production, else kept in instance/chain_key."""
    if app.config.get("CHAIN_KEY"):
        return
    if app.config.get("PRODUCTION"):
        raise RuntimeError("COOP_CHAIN_KEY must be set in the environment in production.")
    app.config["CHAIN_KEY"] = local_secret_key("chain_key")


def select_locale() -> str | None:
    """The member's setting, else the switch's choice, else the browser's."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return None
    from .api.problems import is_api_request

    # The API knows its caller by the token, never by the session cookie.
    language = g.get("api_language") if is_api_request() else getattr(current_user, "language", None)
    if language in languages:
        return language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    """Flask-Babel's zone (its date and time formatting rebases on it): the zone of the club the page is about
    (``web.handling.enter_club`` sets ``g.club``), else BABEL_DEFAULT_TIMEZONE. Flask-Babel rebases with pytz:
    a name its zone database lacks falls back to the default."""
    club = g.get("club")
    zone = getattr(club, "time_zone", None)
    return zone if zone in pytz.all_timezones_set else None
