/**
 * What a provider's failure code means, in words: the table lives in shared/provider-codes.ts, so the paging
 * processor (a failed reachability drill's notice) and the report explain a code the same way.
 */
export { type CodeExplanation, explainFailure, KNOWN_CODES } from '../../shared/provider-codes.js';
