"""Folders of CSV, Parquet and XLSX exports from systems that only export files."""

from adapters.files.adapter import FilesAdapter, FilesOptions, FileTableOptions

__all__ = ["FileTableOptions", "FilesAdapter", "FilesOptions"]
