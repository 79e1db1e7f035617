"""The application factory: configuration, database, blueprints and CLI; nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import g, request
from flask_login import LoginManager
from flask_openapi3 import Info, OpenAPI
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine

from core import auth, clock
from core.cli import FACTORY_KEY, SparesGroup
from core.config import Settings, load_settings
from core.db import UnitOfWork, make_engine
from core.errors import Unauthorized
from core.hardening import init_hardening
from core.i18n import init_i18n
from core.openapi import SparesOpenAPI
from core.web import (
    ENGINE_KEY,
    SETTINGS_KEY,
    SparesJSONProvider,
    register_error_handlers,
    validation_error_answer,
)

# Documentation is public and ignores credentials.
DOC_PATHS = ("/api/v1/openapi.json", "/api/v1/swagger", "/api/v1/oauth2-redirect")
DOC_ENDPOINTS = ("openapi.", "swagger.")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> OpenAPI:
    """Build the Spares web application.

    ``settings`` default to the environment; ``engine`` defaults to one built
    from ``settings.database_url`` (tests pass their own).
    """
    settings = settings or load_settings()
    app = SparesOpenAPI(
        __name__,
        info=Info(
            title="Spares API",
            version="1",
            description="Spare-parts inventory and RMA logistics for eight regional depots.",
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        doc_prefix="/api/v1",
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_callback=validation_error_answer,
        template_folder="core/templates",
        static_folder="core/static",
    )
    app.json = SparesJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[FACTORY_KEY] = create_app
    app.extensions[ENGINE_KEY] = engine or make_engine(settings.database_url)

    init_hardening(app)  # NUL and JSON guards first; security headers on every answer
    _init_security(app, settings)
    init_i18n(app, Path(__file__).resolve().parent)
    register_error_handlers(app)
    _init_observability(app, settings)
    _register_blueprints(app)
    _register_cli(app)
    _register_template_helpers(app)
    return app


def _init_security(app: OpenAPI, settings: Settings) -> None:
    from core.login_limit import init_login_limit
    from core.views.session import signed_in_actor_for

    csrf = CSRFProtect(app)
    init_login_limit(app, settings)
    login_manager = LoginManager(app)
    login_manager.login_view = "core.login"
    login_manager.session_protection = "strong"

    # A page request is signed in while its server-side session lives (core.sessions).
    login_manager.user_loader(signed_in_actor_for)

    @app.before_request
    def _authenticate_api_or_check_csrf() -> None:
        if request.path.startswith("/api/"):
            # Bearer tokens are not sent automatically by browsers, so the API
            # needs no CSRF token; pages and forms do.
            g.actor = None
            token = auth.bearer_token()
            if token is not None and not request.path.startswith(DOC_PATHS):
                g.actor = auth.actor_for_token(UnitOfWork(app.extensions[ENGINE_KEY]), token)
            elif token is None and request.headers.get("Authorization"):
                raise Unauthorized("Authorization header must be 'Bearer TOKEN'")
            if not (request.endpoint or "").startswith(DOC_ENDPOINTS):
                auth.enforce_api_access(
                    request.endpoint, app.view_functions.get(request.endpoint or "")
                )
            return
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()


def _init_observability(app: OpenAPI, settings: Settings) -> None:
    from core.observability import init_observability
    from rma.service.figures import operational_figures as rma_figures

    init_observability(app, settings, [rma_figures])


def _register_blueprints(app: OpenAPI) -> None:
    from core.api import api as core_api
    from core.audit.api import api as audit_api
    from core.audit.views import views as audit_views
    from core.views import views as core_views
    from depots.api import api as depots_api
    from depots.views import views as depots_views
    from inventory.api import api as inventory_api
    from inventory.views import views as inventory_views
    from planning.api import api as planning_api
    from planning.views import views as planning_views
    from reports.api import api as reports_api
    from reports.views import views as reports_views
    from rma.api import api as rma_api
    from rma.views import views as rma_views
    from search.api import api as search_api
    from search.views import views as search_views

    for blueprint in (
        core_views,
        depots_views,
        inventory_views,
        rma_views,
        planning_views,
        reports_views,
        search_views,
        audit_views,
    ):
        app.register_blueprint(blueprint)
    for api_blueprint in (
        core_api,
        depots_api,
        inventory_api,
        rma_api,
        planning_api,
        reports_api,
        search_api,
        audit_api,
    ):
        app.register_api(api_blueprint)


def _register_cli(app: OpenAPI) -> None:
    from core.cli import DEMO_KEY, register_core_commands
    from demo.users import build_users
    from depots.cli import register as register_depot_commands
    from inventory.cli import register as register_inventory_commands
    from planning.cli import register as register_planning_commands
    from reports.cli import register as register_report_commands
    from rma.cli import register as register_rma_commands
    from search.cli import register as register_search_commands

    register_core_commands(app)
    register_depot_commands(app)
    register_inventory_commands(app)
    register_rma_commands(app)
    register_planning_commands(app)
    register_report_commands(app)
    register_search_commands(app)
    from core.audit.cli import register as register_audit_commands
    from core.audit.labels import register_actions
    from rma.service.wording import action_label as rma_step_label

    register_audit_commands(app)
    register_actions("rma", rma_step_label)
    from inventory.demo import build_demo as build_inventory_demo
    from rma.demo import build_demo as build_rma_demo

    app.extensions[DEMO_KEY].extend([build_users, build_inventory_demo, build_rma_demo])


def _register_template_helpers(app: OpenAPI) -> None:
    from core.web import nav_for

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        from flask_login import current_user

        role = current_user.role if current_user.is_authenticated else None
        return {
            "nav_items": lambda: nav_for(role),
            "role_label": auth.role_label,
        }

    @app.template_filter("local")
    def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        return clock.local(value).strftime(fmt)


@click.group(cls=SparesGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """Spares: spare-parts inventory and RMA logistics."""
