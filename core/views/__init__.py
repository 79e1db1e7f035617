"""Core's pages: signing in and out, the home page, the administrators' user
management and everyone's profile. Templates are in ``core/templates``."""

from flask import Blueprint

views = Blueprint("core", __name__, template_folder="../templates")

from core.views import profile, session, users  # noqa: E402, F401  (routes register on `views`)
