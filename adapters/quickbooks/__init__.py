"""QuickBooks Online: declared entity schemas and pushdown into the query endpoint."""

from adapters.quickbooks.adapter import QuickBooksAdapter, QuickBooksOptions

__all__ = ["QuickBooksAdapter", "QuickBooksOptions"]
