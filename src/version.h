/*
** version.h: the version of sqlite-attention and the oldest SQLite it runs on.
*/
#ifndef ATTN_VERSION_H
#define ATTN_VERSION_H

#define ATTN_VERSION "0.2.0"

/* The oldest SQLite library the extension loads into (3.38.0: window
** functions, DIRECTONLY/INNOCUOUS, sqlite3_vtab_rhs_value). */
#define ATTN_MIN_SQLITE_VERSION_NUMBER 3038000
#define ATTN_MIN_SQLITE_VERSION "3.38.0"

#endif /* ATTN_VERSION_H */
