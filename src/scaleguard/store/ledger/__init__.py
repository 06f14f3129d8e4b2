"""The ledger's database adapters: the pure core of :mod:`scaleguard.ledger` over the tables.

``tree`` stores subtree hashes and answers proofs and checkpoints, ``signer``
seals every write transaction, ``rows`` proves the rows a decision reads,
``chain`` and ``objects`` check checkpoints and content-addressed files, and
``verify`` runs ``scaleguard ledger verify``. Keeping them here, beside the
tables, leaves :mod:`scaleguard.ledger` free of any database import.
"""
