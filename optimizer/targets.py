"""Base-stock targets per (depot, part) and the demand rates they are computed from.

The model
---------
Each depot runs a one-for-one (S - 1, S) base-stock policy per part: every unit
that leaves is reordered at once and comes back after the replenishment lead time
L (days). Demand is Poisson with rate ``r`` units/day, so the number of units on
order at any moment is Poisson(lambda = r * L) (Palm's theorem; it holds for any
lead-time distribution with mean L). A demand is filled from the shelf when fewer
than S units are on order, so the *fill rate* of a target S is

    P(Poisson(lambda) <= S - 1)

and the target is the smallest S >= 0 whose fill rate reaches the goal (default
0.95). With no demand (lambda = 0) there is nothing to fill and the target is 0.

Computing the Poisson CDF without scipy
---------------------------------------
Everything is vectorised over numpy arrays (a target for every (depot, part) row
at once). The CDF is accumulated term by term, all rows stepping together and
each row dropping out as soon as it reaches its goal:

* A row starts at ``k0 = floor(lambda - 12 sqrt(lambda))`` (0 for small lambda):
  the mass below k0 is under exp(-72) by the Chernoff bound, far below double
  precision, so skipping it cannot change a target.
* The first term is computed in log space, ``-lambda + k0 ln(lambda) - ln(k0!)``
  (``math.lgamma`` once per distinct k0), so ``exp(-lambda)`` never underflows
  to 0 for large lambda; later terms use the recurrence
  ``pmf(k + 1) = pmf(k) * lambda / (k + 1)``, which is exact to rounding.
* The number of steps is about 14 sqrt(lambda) for the largest lambda, so mean
  lead-time demand is capped at ``MAX_MEAN_DEMAND`` (a million units: anything
  larger is a data error, not a spare part).

Demand-rate estimate
--------------------
Spare-part demand is sparse: a part may see no RMA at a region for months. The
estimate shrinks the observed rate toward a prior built from the installed base,

    rate = (count + prior_days * prior_rate) / (window_days + prior_days)
    prior_rate = installed_units * annual_failure_rate / 365

which is the posterior mean of a Gamma-Poisson model whose prior is worth
``prior_days`` days of observation. With a long window the observed rate
dominates; with no history the installed base decides; with neither the rate is 0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_FILL_RATE = 0.95
DEFAULT_PRIOR_DAYS = 90.0
DAYS_PER_YEAR = 365.0
MAX_MEAN_DEMAND = 1_000_000.0

# Chernoff: P(X <= lambda - t) <= exp(-t^2 / (2 lambda)); t = 12 sqrt(lambda) gives exp(-72).
_TAIL_SIGMAS = 12.0


def _as_float_array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0")
    return array


def base_stock_targets(
    rate_per_day: ArrayLike,
    lead_time_days: ArrayLike,
    fill_rate: ArrayLike = DEFAULT_FILL_RATE,
) -> NDArray[np.int64]:
    """Smallest S >= 0 with P(Poisson(rate * lead) <= S - 1) >= fill_rate, elementwise.

    ``rate_per_day`` (units/day), ``lead_time_days`` (days) and ``fill_rate`` (a
    probability, 0 <= goal < 1) broadcast together; the result has their broadcast
    shape, dtype int64. A row with zero mean demand gets 0. Raises ``ValueError``
    for negative or non-finite inputs, a goal outside [0, 1), or a mean lead-time
    demand above ``MAX_MEAN_DEMAND``.
    """
    rate = _as_float_array("rate_per_day", rate_per_day)
    lead = _as_float_array("lead_time_days", lead_time_days)
    goal = np.asarray(fill_rate, dtype=np.float64)
    if not np.all(np.isfinite(goal)) or np.any(goal < 0) or np.any(goal >= 1):
        raise ValueError("fill_rate must be at least 0 and less than 1")
    lam, goal = np.broadcast_arrays(rate * lead, goal)
    if np.any(lam > MAX_MEAN_DEMAND):
        raise ValueError(f"mean lead-time demand above {MAX_MEAN_DEMAND:,.0f} units")

    shape = lam.shape
    lam = lam.ravel()
    goal = goal.ravel()
    targets = np.zeros(lam.size, dtype=np.int64)
    # Zero demand or a zero goal: S = 0 already satisfies the definition.
    active = np.flatnonzero((lam > 0) & (goal > 0))
    if active.size == 0:
        return targets.reshape(shape)

    lam_a = lam[active]
    goal_a = goal[active]
    k = np.floor(np.maximum(0.0, lam_a - _TAIL_SIGMAS * np.sqrt(lam_a))).astype(np.int64)
    distinct, inverse = np.unique(k, return_inverse=True)
    log_fact = np.array([math.lgamma(float(v) + 1.0) for v in distinct])[inverse]
    pmf = np.exp(-lam_a + k * np.log(lam_a) - log_fact)
    cdf = np.zeros_like(pmf)

    while active.size:
        cdf += pmf
        # Rounding can leave the last partial sum a hair under a goal like 0.999999;
        # once the pmf no longer moves the sum, the tail is exhausted and S is found.
        done = (cdf >= goal_a) | (pmf <= cdf * 1e-17)
        if np.any(done):
            targets[active[done]] = k[done] + 1
            keep = ~done
            active, lam_a, goal_a = active[keep], lam_a[keep], goal_a[keep]
            k, pmf, cdf = k[keep], pmf[keep], cdf[keep]
        pmf = pmf * lam_a / (k + 1)
        k = k + 1
    return targets.reshape(shape)


def estimate_demand_rate(
    demand_count: ArrayLike,
    window_days: ArrayLike,
    installed_units: ArrayLike,
    annual_failure_rate: ArrayLike,
    prior_days: ArrayLike = DEFAULT_PRIOR_DAYS,
) -> NDArray[np.float64]:
    """Demand rate in units/day per (depot region, part), shrunk toward the installed base.

    ``rate = (demand_count + prior_days * installed_units * annual_failure_rate / 365)
    / (window_days + prior_days)``: the observed count over the window plus a prior
    worth ``prior_days`` days at the installed base's expected failure rate
    (``annual_failure_rate`` is the fraction of installed units failing per year,
    e.g. 0.02). Arrays broadcast. Raises ``ValueError`` for negative or non-finite
    values, or when ``window_days + prior_days`` is 0.
    """
    count = _as_float_array("demand_count", demand_count)
    window = _as_float_array("window_days", window_days)
    installed = _as_float_array("installed_units", installed_units)
    afr = _as_float_array("annual_failure_rate", annual_failure_rate)
    prior = _as_float_array("prior_days", prior_days)
    days = window + prior
    if np.any(days <= 0):
        raise ValueError("window_days + prior_days must be more than 0")
    prior_rate = installed * afr / DAYS_PER_YEAR
    return (count + prior * prior_rate) / days
