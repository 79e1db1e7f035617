"""Use cases of the RMA package, split by subject.

The installed base holds serials too: it is registered with inventory's one
serial space here, so no serial enters stock while it runs at a customer.
"""

from inventory.service import serials as _serial_space
from rma.service.customers import installed_serials as _installed_serials

_serial_space.register_holder(_installed_serials)
