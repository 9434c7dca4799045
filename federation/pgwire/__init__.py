"""Concord over the PostgreSQL wire protocol (3.0), so BI tools connect as to PostgreSQL."""
