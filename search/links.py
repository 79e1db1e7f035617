"""The page each hit opens, as a URL (for the search pages and the API alike).

A customer or an installed unit opens its owner's page (``rma``'s customer and
installed-unit pages) where the app has it; otherwise search's own page of what
is at the customer, or at the unit's site. Cities and sites open search's pages
of what is there.
"""

from __future__ import annotations

from flask import current_app, url_for

from search.service.find import Link

# page -> (endpoint, the name of its URL argument), search's own pages included
PAGES = {
    "rma": ("rma.rma", "number"),
    "unit": ("inventory.unit", "serial"),
    "part": ("inventory.part", "part_number"),
    "city": ("search.city", "ident"),
    "customer": ("search.customer", "ident"),
    "site": ("search.site", "ident"),
}
# The owning package's page of a thing, preferred when the app has it.
OWNER_PAGES = {
    "customer": ("rma.customer", "customer_id"),
    "installed_unit": ("rma.installed_unit", "serial"),
}
ID_ARGUMENTS = ("ident", "customer_id")


def url_of(link: Link) -> str:
    """The path of the page ``link`` opens (needs a request or app context)."""
    for pages in (OWNER_PAGES, PAGES):
        endpoint, argument = pages.get(link.page, ("", ""))
        if endpoint in current_app.view_functions:
            value: str | int = int(link.ref) if argument in ID_ARGUMENTS else link.ref
            return url_for(endpoint, **{argument: value})
    if link.fallback is None:
        raise LookupError(f"no page shows a {link.page}")
    return url_of(link.fallback)
