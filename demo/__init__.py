"""Demo data that belongs to no single domain: the demo logins (``users``).

Each domain package builds its own demo data (``depots``, ``inventory.demo``,
``rma.demo``); ``core.demo.load_demo`` runs the builders the app registered.
"""
