"""The call takers' knowledge base (知识库): policy answers a call taker reads out.

Why its own package: the articles are data (``knowledge/articles/*.md``, validated at
start-up like every other configuration file), the search rules are a pure core
(``knowledge.search``) shared by the in-memory base (``knowledge.memory``, the API's
default and the tests') and the database index (``knowledge.index``, SQLite FTS5 trigram or
PostgreSQL pg_trgm), which is derived data rebuilt from the folder, never a record.
"""
