"""Use cases of the planners that need more than one domain: the target stock
worked out from the RMA history and the installed base (``demand``)."""
