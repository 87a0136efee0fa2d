import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LAKE_TABLES } from '../../schemas/lake.js';
import { VIEWS } from '../../schemas/views.js';
import { glueColumns, hiveTypeOfPresto, PARTITION_KEY, prestoViewText, VIEW_COLUMNS } from './glue-columns.js';

export interface LakeCatalogProps {
  readonly bucket: s3.IBucket;
  readonly databaseName: string;
  /** First day of the `dt` projection range (yyyy-MM-dd). */
  readonly projectionStart?: string;
}

/** Partition projection on `dt`: Athena computes the partitions, no crawler and no MSCK REPAIR. */
export function projectionParameters(bucketName: string, prefix: string, start = '2024-01-01'): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': `${start},NOW`,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'storage.location.template': `s3://${bucketName}/${prefix}dt=\${dt}/`,
  };
}

/**
 * The Glue database, one table per lake table (columns generated from schemas/lake.ts) and the views
 * of schemas/views.ts as Athena views (TableType VIRTUAL_VIEW with a Presto view definition).
 */
export class LakeCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly tables: Record<string, glue.CfnTable> = {};
  readonly views: Record<string, glue.CfnTable> = {};

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const catalogId = Stack.of(this).account;
    const { bucket, databaseName } = props;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: { name: databaseName, description: 'pagetrail lake (tables generated from schemas/lake.ts)' },
    });

    for (const table of LAKE_TABLES) {
      const t = new glue.CfnTable(this, `Table-${table.name}`, {
        catalogId,
        databaseName,
        tableInput: {
          name: table.name,
          description: table.comment,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [PARTITION_KEY],
          parameters: {
            classification: 'parquet',
            EXTERNAL: 'TRUE',
            'parquet.compression': 'ZSTD',
            ...projectionParameters(bucket.bucketName, table.prefix, props.projectionStart),
          },
          storageDescriptor: {
            columns: glueColumns(table),
            location: `s3://${bucket.bucketName}/${table.prefix}`,
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: {
              serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
              parameters: { 'serialization.format': '1' },
            },
          },
        },
      });
      t.addResourceDependency(this.database);
      this.tables[table.name] = t;
    }

    for (const [name, sql] of Object.entries(VIEWS) as [keyof typeof VIEWS, string][]) {
      const columns = VIEW_COLUMNS[name];
      const v = new glue.CfnTable(this, `View-${name}`, {
        catalogId,
        databaseName,
        tableInput: {
          name,
          tableType: 'VIRTUAL_VIEW',
          parameters: { presto_view: 'true', comment: 'Presto View' },
          viewOriginalText: prestoViewText(sql, databaseName, columns),
          viewExpandedText: '/* Presto View */',
          storageDescriptor: {
            columns: columns.map((c) => ({ name: c.name, type: hiveTypeOfPresto(c.type) })),
            serdeInfo: {},
          },
        },
      });
      // The views read `events`.
      for (const t of Object.values(this.tables)) v.addResourceDependency(t);
      this.views[name] = v;
    }
  }
}
