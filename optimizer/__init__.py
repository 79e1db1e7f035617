"""Pure decision code for the spares network: numpy, OR-Tools and the standard library only.

No database, no Flask, no project imports: callers turn rows into plain arrays or
frozen dataclasses, call a function here and store what it returns. That keeps the
decisions fast to test, easy to benchmark and usable offline.

* ``depot_choice``: which depot ships ONE replacement, with a reason for every loser.
* ``dispatch``: many open replacements competing for scarce stock (OR-Tools min-cost flow).
* ``targets``: base-stock targets from Poisson lead-time demand; demand-rate estimates.
* ``rebalance``: depot-to-depot moves toward targets for all parts in one min-cost flow.
* ``freight``: the same moves with freight as charged (each lane's shipment once plus
  handling per unit): the lane choice by branch and bound, exact or with a stated gap.
* ``offline``: the what-if core: stock/targets/lanes CSV files in, a plan CSV out.
"""
