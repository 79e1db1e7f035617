"""The planners' surfaces: target stock, rebalancing plans, batch dispatch and the
depot-choice calculator, as JSON API (``api``), pages (``views``) and terminal
commands (``cli``).

Nothing in those three decides anything: the use cases live in
``inventory.service`` (stored targets and overrides, rebalancing),
``planning.service`` (targets worked out from the RMA history and the installed
base) and ``rma.service`` (dispatch, allocation), the decisions in ``optimizer``;
the surfaces parse input, call them, and show what came back.
"""
