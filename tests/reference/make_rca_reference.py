"""Reference values for the within-day test of root-cause analysis (aoma_private.rca_within_day,
sql/83_root_cause.sql), checked in tests/sql/97_root_cause.sql.

Two days; on each the segment (a failures of n1 attempts) against the rest of the day (c of n0):
  day 1: a=10, n1=100, c=20, n0=400;  day 2: a=5, n1=50, c=30, n0=450.
The Mantel-Haenszel risk ratio comes from statsmodels (StratifiedTable.riskratio_pooled); the
Greenland-Robins (1985) variance of its log, which statsmodels 0.13 does not provide, from its
formula: sum((n1*n0*(a+c) - a*c*N) / N^2) / (R * S).
Run: /usr/bin/python3 tests/reference/make_rca_reference.py
"""
import json

import numpy as np
from statsmodels.stats.contingency_tables import StratifiedTable

days = [(10, 100, 20, 400), (5, 50, 30, 450)]
tables = [np.array([[a, n1 - a], [c, n0 - c]]) for a, n1, c, n0 in days]
rr = StratifiedTable(tables).riskratio_pooled
R = sum(a * n0 / (n1 + n0) for a, n1, c, n0 in days)
S = sum(c * n1 / (n1 + n0) for a, n1, c, n0 in days)
V = sum((n1 * n0 * (a + c) - a * c * (n1 + n0)) / (n1 + n0) ** 2 for a, n1, c, n0 in days)
out = {"days": days, "R": R, "S": S, "V": V, "log_rr": float(np.log(rr)), "var_log_rr": V / (R * S)}
print(json.dumps(out, indent=1))
