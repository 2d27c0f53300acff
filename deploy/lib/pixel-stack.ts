// PixelTrackingStack: CloudFront serves /1x1.png and streams real-time logs through
// Kinesis Data Streams and Firehose into S3, where Athena reads them through Glue.
// SPDX-License-Identifier: MIT
import * as path from 'path';

import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

import {
  CatalogField, columnName, columnType, FieldCatalog, loadCatalog, selectFields, withoutClientIp,
} from './fields';
import { loadOpensRules, MANIFEST_PREFIX, MANIFEST_TABLE, opensQueries } from './opens';
import { namedQueries } from './queries';

/** Where Firehose writes the log objects: the calendar year (`yyyy`), UTC hours. */
export const DATA_PREFIX =
  'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';
/** Records Firehose could not deliver, outside the table's tree. */
export const ERROR_PREFIX =
  'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';
/** Athena query results, in the data bucket but outside the table's tree. */
export const RESULTS_PREFIX = 'athena-results/';
/** The pixel's response headers (browsers must ask again for every event). */
export const PIXEL_CACHE_CONTROL = 'no-cache, no-store, must-revalidate';

export interface PixelTrackingStackProps extends StackProps {
  /**
   * Real-time log fields (CloudFront names). Checked against the catalog; CloudFront writes
   * them in catalog order whatever the order here.
   * @default the catalog's `default` list (src/log/fields.json)
   */
  readonly fields?: string[];
  /**
   * Log the viewer's IP address. An IP address in a log is personal data (docs/privacy.md):
   * `false` leaves `c-ip` (and `x-forwarded-for`) out of the real-time log configuration and
   * the Glue table, and logs `c-country` and `asn` instead. With `fields` naming `c-ip` or
   * `x-forwarded-for`, `false` is an error.
   * @default true
   */
  readonly logClientIp?: boolean;
  /** The field catalog. @default the repository's src/log/fields.json */
  readonly catalog?: FieldCatalog;
  /** Percentage of viewer requests logged, 1 to 100. @default 100 */
  readonly samplingRate?: number;
  /** Shards of a provisioned stream. @default on-demand capacity */
  readonly shardCount?: number;
  /** Firehose buffering interval, 0 to 900 s. @default 60 s */
  readonly bufferingInterval?: Duration;
  /** Firehose buffering size, 1 to 128 MiB. @default 5 MiB */
  readonly bufferingSize?: Size;
  /** Days the log objects are kept. @default 365 */
  readonly retentionDays?: number;
  /** Days Firehose error objects and Athena results are kept. @default 30 */
  readonly scratchRetentionDays?: number;
  /**
   * Keep the buckets, their objects, the stream and the table when the stack is deleted.
   * `false` makes `cdk destroy` remove everything (objects included).
   * @default true
   */
  readonly retain?: boolean;
  /** Glue database name. @default pixel */
  readonly databaseName?: string;
  /** Glue table name. @default events */
  readonly tableName?: string;
  /** First year partition projection enumerates. @default 2025 */
  readonly firstYear?: number;
  /**
   * Signed pixel URLs (docs/signing.md). 'enforce' runs functions/verify-signature.js on
   * every pixel request (viewer request) with the keys of a KeyValueStore the stack creates
   * (key id -> base64 key): a hit that does not verify gets 403 and is logged as such.
   * @default 'off'
   */
  readonly signing?: 'off' | 'enforce';
}

/** The CloudFront Function that verifies signed pixel URLs (cloudfront-js-2.0). */
export const VERIFY_FUNCTION_FILE = path.join(__dirname, '..', 'functions', 'verify-signature.js');

/** A stack property out of range. */
export class PixelStackPropsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PixelStackPropsError';
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new PixelStackPropsError(message);
}

export class PixelTrackingStack extends Stack {
  /** The fields the distribution logs, in the order CloudFront writes them. */
  public readonly fields: CatalogField[];
  public readonly distribution: cloudfront.Distribution;
  public readonly stream: kinesis.Stream;
  public readonly dataBucket: s3.Bucket;
  /** The signing keys (only with signing: 'enforce'). */
  public readonly signingKeys?: cloudfront.KeyValueStore;

  constructor(scope: Construct, id: string, props: PixelTrackingStackProps = {}) {
    super(scope, id, props);

    const catalog = props.catalog ?? loadCatalog();
    const names = props.fields ?? catalog.default;
    this.fields = selectFields(catalog,
      props.logClientIp === false ? withoutClientIp(names, props.fields !== undefined) : names);
    const samplingRate = props.samplingRate ?? 100;
    check(Number.isInteger(samplingRate) && samplingRate >= 1 && samplingRate <= 100,
      `samplingRate must be an integer from 1 to 100, got ${samplingRate}`);
    if (props.shardCount !== undefined) {
      check(Number.isInteger(props.shardCount) && props.shardCount >= 1,
        `shardCount must be a positive integer, got ${props.shardCount}`);
    }
    const retentionDays = props.retentionDays ?? 365;
    const scratchDays = props.scratchRetentionDays ?? 30;
    for (const [name, v] of [['retentionDays', retentionDays], ['scratchRetentionDays', scratchDays]] as const) {
      check(Number.isInteger(v) && v >= 1, `${name} must be a positive integer, got ${v}`);
    }
    const retain = props.retain ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const firstYear = props.firstYear ?? 2025;
    const signing = props.signing ?? 'off';
    check(signing === 'off' || signing === 'enforce', `signing must be 'off' or 'enforce', got '${signing}'`);
    const databaseName = props.databaseName ?? 'pixel';
    const tableName = props.tableName ?? 'events';

    const bucketDefaults: s3.BucketProps = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: !retain,
    };

    // The pixel: one object, read only by this distribution through origin access control.
    const pixelBucket = new s3.Bucket(this, 'PixelBucket', {
      ...bucketDefaults,
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    new s3deploy.BucketDeployment(this, 'PixelObject', {
      destinationBucket: pixelBucket,
      sources: [s3deploy.Source.asset(path.join(__dirname, '..', 'assets', 'pixel'))],
      contentType: 'image/png',
      cacheControl: [
        s3deploy.CacheControl.noCache(),
        s3deploy.CacheControl.noStore(),
        s3deploy.CacheControl.mustRevalidate(),
      ],
      prune: true,
      retainOnDelete: retain,
    });

    // Real-time logs go to Kinesis.
    this.stream = new kinesis.Stream(this, 'LogStream', {
      streamMode: props.shardCount === undefined ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: props.shardCount,
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(24),
      removalPolicy,
    });

    // CloudFront, and only this account's CloudFront, may write to the stream.
    const logRole = new iam.Role(this, 'RealtimeLogRole', {
      description: 'CloudFront real-time logs of the pixel distribution write to the log stream',
      assumedBy: new iam.ServicePrincipal('cloudfront.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:*` },
        },
      }),
    });
    // Endpoint.fromKinesisStream grants exactly DescribeStream, DescribeStreamSummary,
    // PutRecord and PutRecords on this stream (and no key permission: the stream uses the
    // AWS managed key).
    const realtimeLog = new cloudfront.RealtimeLogConfig(this, 'RealtimeLog', {
      realtimeLogConfigName: `${this.stackName}-pixel`,
      endPoints: [cloudfront.Endpoint.fromKinesisStream(this.stream, logRole)],
      fields: this.fields.map((f) => f.name),
      samplingRate,
    });

    const pixelOrigin = origins.S3BucketOrigin.withOriginAccessControl(pixelBucket, {
      originAccessLevels: [cloudfront.AccessLevel.READ],
    });
    // The query string, headers and cookies stay out of the cache key, so the edge keeps one
    // copy of the pixel. Every viewer request is logged whether it is a hit or a miss; the
    // minimum TTL makes the edge cache the object in spite of its no-store header, which
    // still reaches the browser unchanged.
    const pixelCachePolicy = new cloudfront.CachePolicy(this, 'PixelCachePolicy', {
      comment: 'The pixel: one cached object whatever the query string',
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      minTtl: Duration.days(1),
      defaultTtl: Duration.days(1),
      maxTtl: Duration.days(365),
      enableAcceptEncodingGzip: false,
      enableAcceptEncodingBrotli: false,
    });
    // Signing: the verifier runs before the cache, so a refused hit never reaches the
    // origin; keys change in the store without redeploying the function.
    let functionAssociations: cloudfront.FunctionAssociation[] | undefined;
    if (signing === 'enforce') {
      this.signingKeys = new cloudfront.KeyValueStore(this, 'SigningKeys', {
        comment: 'Pixel signing keys: key id -> base64 key (docs/signing.md)',
      });
      const verify = new cloudfront.Function(this, 'VerifySignature', {
        comment: 'Refuses pixel hits without a valid pixel-sig-v1 signature (403)',
        code: cloudfront.FunctionCode.fromFile({ filePath: VERIFY_FUNCTION_FILE }),
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        keyValueStore: this.signingKeys,
      });
      functionAssociations = [{ function: verify, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }];
    }
    const pixelBehavior: cloudfront.BehaviorOptions = {
      functionAssociations,
      origin: pixelOrigin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: pixelCachePolicy,
      compress: false,
      realtimeLogConfig: realtimeLog,
    };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Tracking pixel /1x1.png with real-time logs',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      // Anything but the pixel: not logged, answered by S3 (403 for a missing object).
      defaultBehavior: {
        origin: pixelOrigin,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      additionalBehaviors: { '/1x1.png': pixelBehavior },
    });

    // Firehose reads the stream and writes gzip objects under hourly partitions.
    this.dataBucket = new s3.Bucket(this, 'DataBucket', {
      ...bucketDefaults,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(retentionDays) },
        { id: 'expire-errors', prefix: 'errors/', expiration: Duration.days(scratchDays) },
        { id: 'expire-athena-results', prefix: RESULTS_PREFIX, expiration: Duration.days(scratchDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    const firehoseRole = new iam.Role(this, 'FirehoseRole', {
      description: 'Firehose reads the log stream and writes log objects (never deletes them)',
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    });
    const firehoseLogGroup = new logs.LogGroup(this, 'FirehoseLogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    // The S3 destination would grant read-write (object deletion included) to its role: it
    // gets a view of the role that takes no grants, and the writes it needs are listed here.
    const firehoseWrite = new iam.Policy(this, 'FirehoseWritePolicy', {
      roles: [firehoseRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteLogObjects',
          actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket',
            's3:ListBucketMultipartUploads', 's3:PutObject'],
          resources: [this.dataBucket.bucketArn, this.dataBucket.arnForObjects('*')],
        }),
      ],
    });
    firehoseLogGroup.grantWrite(firehoseRole);
    const delivery = new firehose.DeliveryStream(this, 'Delivery', {
      source: new firehose.KinesisStreamSource(this.stream),
      role: firehoseRole,
      destination: new firehose.S3Bucket(this.dataBucket, {
        role: firehoseRole.withoutPolicyUpdates(),
        dataOutputPrefix: DATA_PREFIX,
        errorOutputPrefix: ERROR_PREFIX,
        compression: firehose.Compression.GZIP,
        bufferingInterval: props.bufferingInterval ?? Duration.seconds(60),
        bufferingSize: props.bufferingSize ?? Size.mebibytes(5),
        loggingConfig: new firehose.EnableLogging(firehoseLogGroup),
      }),
    });
    delivery.node.addDependency(firehoseWrite);

    // Athena without a crawler: the table's columns are the field list, its partitions are
    // projected from the prefix, so a new hour is queryable as soon as Firehose writes it.
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: databaseName, description: 'Tracking pixel events (CloudFront real-time logs)' },
    });
    database.applyRemovalPolicy(removalPolicy);
    const location = `s3://${this.dataBucket.bucketName}/`;
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: {
        name: tableName,
        description: 'One row per pixel request, in the fields of the real-time log configuration',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          'classification': 'csv',
          'compressionType': 'gzip',
          'projection.enabled': 'true',
          'projection.year.type': 'integer',
          'projection.year.range': `${firstYear},${firstYear + 50}`,
          'projection.month.type': 'integer',
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
          'projection.day.type': 'integer',
          'projection.day.range': '1,31',
          'projection.day.digits': '2',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `${location}year=\${year}/month=\${month}/day=\${day}/hour=\${hour}/`,
        },
        partitionKeys: ['year', 'month', 'day', 'hour'].map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          location,
          columns: this.fields.map((f) => ({ name: columnName(f.name), type: columnType(f.type) })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            parameters: { 'field.delim': '\t', 'serialization.format': '\t' },
          },
        },
      },
    });
    table.addResourceDependency(database);
    table.applyRemovalPolicy(removalPolicy);

    // Campaign manifests (email-campaign's manifest.jsonl, one object per message) under their
    // own prefix: the open queries join them to the events (lib/opens.ts, docs/opens.md).
    const manifests = new glue.CfnTable(this, 'ManifestTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: {
        name: MANIFEST_TABLE,
        description: `Campaign manifests (manifest.jsonl) copied under s3://<bucket>/${MANIFEST_PREFIX}`,
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json' },
        storageDescriptor: {
          location: `${location}${MANIFEST_PREFIX}`,
          columns: [
            { name: 'campaign', type: 'string' },
            { name: 'eid', type: 'string' },
            { name: 'recipient', type: 'string' },
            { name: 'sent', type: 'double' },
            { name: 'mode', type: 'string' },
          ],
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        },
      },
    });
    manifests.addResourceDependency(database);
    manifests.applyRemovalPolicy(removalPolicy);

    const workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${this.stackName}-pixel`,
      description: 'Queries over the tracking pixel events',
      recursiveDeleteOption: !retain,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: `s3://${this.dataBucket.bucketName}/${RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    workgroup.applyRemovalPolicy(removalPolicy);
    const columns = new Set(this.fields.map((f) => f.name));
    const queries = [
      ...namedQueries(databaseName, tableName, columns),
      ...opensQueries(loadOpensRules(), databaseName, tableName, columns),
    ];
    for (const q of queries) {
      const named = new athena.CfnNamedQuery(this, q.id, {
        name: q.name,
        description: q.description,
        database: databaseName,
        workGroup: workgroup.ref,
        queryString: q.sql,
      });
      named.addResourceDependency(workgroup);
      named.addResourceDependency(table);
      named.addResourceDependency(manifests);
    }

    new CfnOutput(this, 'PixelUrl', {
      description: 'The pixel endpoint (pixel url|send|img --endpoint-from outputs.json)',
      value: `https://${this.distribution.distributionDomainName}/1x1.png`,
    });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
    new CfnOutput(this, 'DataBucketName', { description: 'Log objects (gzip, tab-separated)', value: this.dataBucket.bucketName });
    new CfnOutput(this, 'StreamName', { description: 'Kinesis stream of the real-time logs', value: this.stream.streamName });
    new CfnOutput(this, 'TableName', { description: 'Glue table over the log objects', value: `${databaseName}.${tableName}` });
    new CfnOutput(this, 'WorkGroupName', { description: 'Athena workgroup with the named queries', value: workgroup.ref });
    // What the stream takes before it throttles (and CloudFront drops records after the
    // 200): 1,000 records/s per shard; an on-demand stream starts near 4,000 records/s.
    // `pixel send --endpoint-from` paces itself to it (docs/capacity.md).
    new CfnOutput(this, 'StreamRecordsPerSecond', {
      description: 'Records per second the log stream takes (pixel send --endpoint-from uses it as --max-rate)',
      value: String(props.shardCount === undefined ? 4000 : props.shardCount * 1000),
    });
    if (this.signingKeys) {
      new CfnOutput(this, 'SigningKeysArn', {
        description: 'KeyValueStore of the signing keys (aws cloudfront-keyvaluestore put-key --kvs-arn ...)',
        value: this.signingKeys.keyValueStoreArn,
      });
    }
    new CfnOutput(this, 'LogFields', { description: 'Real-time log fields, in record order', value: this.fields.map((f) => f.name).join(',') });
  }
}
