"""Writes of confirmation matching (docs/architecture.md, "Clearing: confirmations and breaks").

- confirmations: receiving counterparties' confirmations (one or a batch, idempotent by reference);
- matching: the set-based matching engine, the trade hook and the batch job's chunks;
- breaks: resolving what did not match (force-match, reject, request a new confirmation);
- tolerances: the price tolerance of each asset class.
"""
