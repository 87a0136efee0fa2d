import * as athena from 'aws-cdk-lib/aws-athena';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AUDIT_QUERY, SEED_QUERY } from './queries.js';
import { ATHENA_RESULTS_PREFIX } from './storage.js';

export interface AthenaProps {
  readonly bucket: s3.IBucket;
  readonly workGroupName: string;
  readonly databaseName: string;
  /** Per-query scan limit (default 10 GiB). */
  readonly bytesScannedCutoffPerQuery?: number;
}

/** The workgroup (enforced result location, scan limit, engine v3) and the demo's queries as named queries. */
export class AthenaQueries extends Construct {
  readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AthenaProps) {
    super(scope, id);
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workGroupName,
      description: 'pagetrail lake queries',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    const named = (sid: string, name: string, description: string, queryString: string) => {
      const q = new athena.CfnNamedQuery(this, sid, {
        name,
        description,
        database: props.databaseName,
        workGroup: props.workGroupName,
        queryString,
      });
      q.addResourceDependency(this.workGroup);
      return q;
    };
    named(
      'SeedQuery',
      'opened-before-escalation',
      'Pages opened before the loop escalated (the seed query of make demo)',
      SEED_QUERY,
    );
    named(
      'AuditQuery',
      'incident-audit',
      'Per-incident post-mortem audit: who was paged, delivered/opened/acked/escalated offsets, verdict',
      AUDIT_QUERY,
    );
  }
}
