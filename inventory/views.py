"""Pages for depot staff (being written)."""

from flask import Blueprint

views = Blueprint("inventory", __name__, template_folder="templates")
