"""Use cases of the inventory, split by subject.

Stock changes only through ``ledger.post``, which writes the movement, its
ledger entries and the balances together.

The lock order. Every writer takes its row locks in this one order, so two use
cases that touch the same rows queue behind each other instead of deadlocking:

1. the one document the use case acts on: the transfer (``transfers``,
   ``receipts``, ``shortfalls``), the reservation (``reservations``), the
   discrepancy being decided - taken
   first, so a second request for the same step waits and then sees the first's
   result (an RMA's steps lock the RMA before any of these);
2. serialized units, ordered by part number, then serial: ``stock.lock_units`` and
   ``units_in_stock`` lock a set in one statement in that order,
   ``pick_free_units`` reads a part's free units in the picking order and then
   locks them in this order (when one was taken meanwhile it raises ``Contended``
   rather than lock a replacement out of order), a transfer one line after another
   in part-number order, a receipt (a late parcel too) every unit it names in one
   statement, a write-off the missing units in one statement, a cycle count the
   units on the shelf and those seen in one statement (moving a unit to another bin
   locks the unit alone: bins are not stock);
3. balance rows, ordered by (depot, part number, bucket), all in one
   ``ledger.lock_balances`` call: the one ``ledger.post`` of the use case, or a
   count reading the balance it will post to. Never a unit after a balance.

SQLite has one writer at a time (``BEGIN IMMEDIATE``) and cannot deadlock;
PostgreSQL would kill one of two writers that broke the order (SQLSTATE 40P01).
The unit of work retries that, so users would not see it: ``core.db``
tallies every retry by SQLSTATE (``retried_conflicts()``) and the lock-order
drills assert there is no deadlock to retry.
"""
