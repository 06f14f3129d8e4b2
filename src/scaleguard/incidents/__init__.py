"""Incidents, noncompliance reports and the legal clocks around them.

* :mod:`~scaleguard.incidents.regimes` — reporting regimes as validated data
  (SB 53, RAISE, EU Code of Practice Measure 9.3, the developer's own framework);
* :mod:`~scaleguard.incidents.clocks` — pure: an incident and the regimes in,
  obligations with deadlines out;
* :mod:`~scaleguard.incidents.store` — the append-only records;
* :mod:`~scaleguard.incidents.checks` — what every read proves against the ledger
  (and counts against the signer's census) before a clock relies on it;
* :mod:`~scaleguard.incidents.service` — the operations the CLI calls;
* :mod:`~scaleguard.incidents.noncompliance` — staff reports, anonymous or named;
* :mod:`~scaleguard.incidents.compliance` — recurring duties (framework review,
  change publication, transparency reports);
* :mod:`~scaleguard.incidents.drafts` — report drafts per regime.
"""
