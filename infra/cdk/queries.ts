/**
 * The Athena named queries: one source with `make query NAME=…` and `make demo`
 * (analysis/query/named-queries.ts, written in Athena's SQL; DuckDB runs the same text through the
 * macros of analysis/query/dialect.ts).
 */
export { AUDIT_QUERY, NAMED_QUERIES, SEED_QUERY } from '../../analysis/query/named-queries.js';
