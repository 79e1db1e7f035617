"""Pages of the RMA desk: engineers open and follow cases and close them with the
customer's sign-off, depot staff pick, ship and receive, supervisors approve
billable cases and take escalations.

The pages are a thin layer over ``rma.service``: they read form fields, call the
same use cases as the API, and show what came back. The services decide who may
do what; pages only hide the forms a user could not use. Every action posts to
its own route and, when it succeeds, redirects back with a message; when it is
refused the page is shown again with the error and the error's status (4xx),
and nothing has changed.

Service-level clocks ("due in 5 h 20 min", "overdue by 2 h") are computed here,
on the server, at the moment the page is rendered; every time is shown in
Asia/Shanghai time.

Barcode scanners type a code and press Enter: the serial search and each ship
or receive form have one text field, so Enter submits that form (no JavaScript
needed).
"""

from flask import Blueprint

from core.auth import Role
from core.i18n import lazy_gettext
from core.web import add_nav

views = Blueprint("rma", __name__, template_folder="../templates")

ENGINEER, SUPERVISOR, PLANNER = Role.ENGINEER.value, Role.SUPERVISOR.value, Role.PLANNER.value
STAFF = Role.DEPOT_STAFF.value
add_nav(lazy_gettext("Escalations"), "rma.escalations", SUPERVISOR, order=3)
add_nav(lazy_gettext("New RMA"), "rma.new_rma", ENGINEER, order=4)
add_nav(lazy_gettext("My cases"), "rma.cases", ENGINEER, order=5)
add_nav(lazy_gettext("Cases"), "rma.open_cases", SUPERVISOR, PLANNER, order=6)
add_nav(lazy_gettext("Pick list"), "rma.pick_list", STAFF, order=7)
add_nav(lazy_gettext("Returns"), "rma.returns", STAFF, order=8)
add_nav(lazy_gettext("Customers"), "rma.customers_list", ENGINEER, SUPERVISOR, PLANNER, order=9)
add_nav(
    lazy_gettext("Installed base"), "rma.installed_base", ENGINEER, SUPERVISOR, PLANNER, order=9
)

from rma.views import actions, cases, customers, desk, escalations, opening  # noqa: E402, F401
