"""The built-in ``concord`` source: the unified model's settings and identity tables."""

from adapters.concord.adapter import MODEL_TABLES, ModelAdapter

__all__ = ["MODEL_TABLES", "ModelAdapter"]
