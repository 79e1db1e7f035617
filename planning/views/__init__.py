"""Pages of the planners: target stock, rebalancing plans, batch dispatch, and a
calculator showing which depot would ship a replacement.

A thin layer over the same services as the API and the CLI
(``inventory.service.targets``/``rebalancing``, ``planning.service``,
``rma.service.dispatch``/``allocation``): pages read form fields, call a use case,
and show what came back. A refused form is shown again with the error and the
error's status (4xx), and nothing has changed; a successful one redirects with a
message. Every time is shown in Asia/Shanghai; every word in the reader's language
(``core.i18n``).

One module per page: ``targets``, ``plans``, ``dispatch``, ``depot_choice``,
``availability`` (the exchange curve, applying targets, the simulation); what they
share is ``common``.
"""

from flask import Blueprint

from core.auth import Role
from core.i18n import lazy_gettext
from core.web import add_nav

views = Blueprint("planning", __name__, template_folder="../templates")

PLANNER = Role.PLANNER.value
CHOICE_READERS = (PLANNER, Role.ENGINEER.value, Role.SUPERVISOR.value)

add_nav(lazy_gettext("Targets"), "planning.targets_page", PLANNER, order=40)
add_nav(lazy_gettext("Rebalancing"), "planning.rebalance_page", PLANNER, order=41)
add_nav(lazy_gettext("Dispatch"), "planning.dispatch_page", PLANNER, order=42)
add_nav(lazy_gettext("Depot choice"), "planning.depot_choice_page", *CHOICE_READERS, order=43)
add_nav(lazy_gettext("Availability"), "planning.availability_page", PLANNER, order=44)

from planning.views import availability, depot_choice, dispatch, plans, targets  # noqa: E402, F401
