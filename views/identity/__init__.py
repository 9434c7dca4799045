"""Identity resolution for customer accounts: which source records are one customer.

Deterministic keys first (tax id, DUNS, web/e-mail domain, E.164 phone, name + country or
postcode; one DuckDB equi-join per key), then a Splink model trained offline
(``train.py``, committed as ``account_model.json``) for what no key decided, then steward
overrides; clusters are constrained connected components. See ``resolve_accounts``.
"""

from views.identity.overrides import Override, load_overrides
from views.identity.resolve import IdentityResult, customer_id_for, resolve_accounts

__all__ = ["IdentityResult", "Override", "customer_id_for", "load_overrides",
           "resolve_accounts"]
