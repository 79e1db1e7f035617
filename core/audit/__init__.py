"""The audit trail: every change of configuration, master data and state, recorded once."""
