/**
 * The Athena named queries: one source with `make query NAME=…` and `make demo`
 * (processors/query/named-queries.ts, written in Athena's SQL; DuckDB runs the same text through the
 * macros of processors/query/dialect.ts).
 */
export { AUDIT_QUERY, NAMED_QUERIES, SEED_QUERY } from '../../processors/query/named-queries.js';
