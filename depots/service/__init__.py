"""Use cases of the depots package, split by subject (calendars, network)."""
