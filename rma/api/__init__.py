"""JSON API of RMAs: customers, sites, contracts and the installed base; opening an
RMA and taking it through its steps; escalations; the printable service record.

Every route needs a bearer token. Anyone signed in may read; writes need the
roles named on the route's ``auth.api_roles`` guard (checked before the input is
validated), and the services check the rest: depot staff ship from and receive
into their own depot only (403), and a step the case cannot take now answers 409
with the steps it can (``allowed``). Every POST that writes runs through
``answer_once``, so a request repeated with the same ``Idempotency-Key`` gets the
first answer again and writes nothing new.

Due times are answered as instants (``due``), as hours left from now while still
to be met (``due_in_hours``, negative when overdue) and, once the step happened,
whether the promise was kept (``due_met``).

Approving a billable case needs ``"confirm": true`` (the supervisor has checked the
price the case answers as ``approval_quote`` with the customer) and takes a
``comment``; with ``confirmed_charge`` a price that has changed since is refused
(409). Escalations are taken on one at a time or every rung of a case at once, with
a ``note``; ``GET /escalations/acknowledged`` is the history of what was taken on.
Refusals name cases by their number; ``detail`` is English, ``error`` a stable code.

``GET /rmas/{number}/service-record.pdf`` prints for an RMA in any state: a case
that is not closed yet prints marked "NOT YET SIGNED" (the engineer takes it to
the customer for signing), a closed one with the customer's verdict.
"""

from flask_openapi3 import APIBlueprint, Tag

api = APIBlueprint(
    "rma_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="rma")],
)


from rma.api import cases, customers, escalations  # noqa: E402, F401  (routes register on `api`)
