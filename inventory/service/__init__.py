"""Use cases of the inventory, split by subject.

Stock changes only through ``ledger.post``, which writes the movement, its
ledger entries and the balances together, locking the balance rows it touches
in one fixed order so concurrent moves never oversell and never deadlock on
each other's rows.
"""
