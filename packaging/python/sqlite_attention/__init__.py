"""sqlite-attention: transformer self-attention inside SQLite.

This package holds the compiled sqlite-attention loadable extension and
loads it into a connection:

    import sqlite3, sqlite_attention
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    sqlite_attention.load(db)
    db.enable_load_extension(False)

load(conn) works with sqlite3.Connection and apsw.Connection (anything with
load_extension(path)); loadable_path() is the extension's path without its
suffix, as load_extension() and the sqlite3 shell's .load take it.
"""
import os
from typing import Any

__all__ = ["load", "loadable_path", "__version__"]

# The extension's version (src/version.h, what attn_version() returns),
# written here by `make python`.
__version__ = "@VERSION@"


def loadable_path() -> str:
    """The path of the extension in this package, without its suffix."""
    return os.path.normpath(os.path.join(os.path.dirname(__file__), "attention"))


def load(conn: Any) -> None:
    """Load the sqlite-attention extension into conn.

    conn is a sqlite3.Connection, an apsw.Connection (load_extension(), or
    loadextension() before APSW 3.41) or anything with such a method.
    Extension loading must be enabled on it (enable_load_extension(True));
    errors are those of its load_extension().
    """
    loader = getattr(conn, "load_extension", None) or getattr(conn, "loadextension", None)
    if loader is None:
        raise RuntimeError(
            "sqlite_attention.load(): %s has no load_extension(): this Python's "
            "sqlite3 module was built without extension loading "
            "(--enable-loadable-sqlite-extensions); use one that has it, such as "
            "Debian's /usr/bin/python3, or APSW" % type(conn).__name__)
    loader(loadable_path())
