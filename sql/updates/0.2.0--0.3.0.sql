-- 0.2.0 -> 0.3.0: the schema changes of this step (tables, types, indexes,
-- seed rows, and functions that must be dropped before they are replayed
-- with another signature). Every sql/api file is appended after this one.

-- issue 12: the border (seeds 001 and 003): a new domain, created whole
--@include sql/schema/70_border.sql
