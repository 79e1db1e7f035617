"""Use cases of the RMA package, split by subject."""
