// PixelTrackingStack's template: every property the pipeline depends on, the nag and
// validation checks, and a reviewed snapshot.
// SPDX-License-Identifier: MIT
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { Duration, Size } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';

import { exceptions } from '../lib/checks';
import { loadCatalog } from '../lib/fields';
import { DATA_PREFIX, PixelStackPropsError, PixelTrackingStack } from '../lib/pixel-stack';
import { asArray, DEPLOY_DIR, logicalId, resources, synth, Synthesized } from './support';

// The catalog read independently of lib/fields.ts.
const CATALOG = JSON.parse(
  fs.readFileSync(path.join(DEPLOY_DIR, '..', 'src', 'log', 'fields.json'), 'utf8'),
) as { realtime: { name: string; type: string }[]; default: string[] };
const EXPECTED_DEFAULT = [
  'timestamp', 'c-ip', 'sc-status', 'cs-uri-stem', 'x-edge-request-id', 'cs-user-agent',
  'cs-referer', 'cs-uri-query',
];

let base: Synthesized;
beforeAll(() => {
  base = synth();
});

function policiesOf(json: Record<string, any>, roleId: string): any[] {
  return resources(json, 'AWS::IAM::Policy')
    .filter(([, p]) => asArray(p.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => asArray(p.Properties.PolicyDocument.Statement));
}

function actionsOf(statements: any[]): string[] {
  return statements.flatMap((s) => asArray(s.Action));
}

describe('field list', () => {
  test('the catalog default is the seed four plus status, stem, request id and referer', () => {
    expect([...CATALOG.default].sort()).toEqual([...EXPECTED_DEFAULT].sort());
    const order = CATALOG.realtime.map((f) => f.name);
    expect(CATALOG.default).toEqual(
      [...CATALOG.default].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
  });

  test('the real-time log config logs exactly the catalog default, in catalog order', () => {
    base.template.hasResourceProperties('AWS::CloudFront::RealtimeLogConfig', {
      Fields: CATALOG.default,
      SamplingRate: 100,
    });
    expect(base.stack.fields.map((f) => f.name)).toEqual(CATALOG.default);
  });

  test('the Glue columns are the same fields, in record order', () => {
    const [[, table]] = resources(base.json, 'AWS::Glue::Table');
    const cols = table.Properties.TableInput.StorageDescriptor.Columns;
    expect(cols.map((c: any) => c.Name)).toEqual(CATALOG.default.map((f) => f.replace(/-/g, '_')));
    const typeOf = (n: string) => cols.find((c: any) => c.Name === n).Type;
    expect(typeOf('timestamp')).toBe('double');
    expect(typeOf('sc_status')).toBe('bigint');
    expect(typeOf('cs_uri_query')).toBe('string');
  });

  test('an override is validated against the catalog and put in catalog order', () => {
    const { template, json } = synth({ fields: ['cs-uri-query', 'timestamp', 's-ip'], samplingRate: 25 });
    template.hasResourceProperties('AWS::CloudFront::RealtimeLogConfig', {
      Fields: ['timestamp', 's-ip', 'cs-uri-query'],
      SamplingRate: 25,
    });
    const [[, table]] = resources(json, 'AWS::Glue::Table');
    expect(table.Properties.TableInput.StorageDescriptor.Columns.map((c: any) => c.Name))
      .toEqual(['timestamp', 's_ip', 'cs_uri_query']);
  });

  test('logClientIp: false: no c-ip in the real-time log fields nor the Glue columns', () => {
    const { template, json, stack } = synth({ logClientIp: false });
    const [[, config]] = resources(json, 'AWS::CloudFront::RealtimeLogConfig');
    const fields: string[] = config.Properties.Fields;
    expect(fields).not.toContain('c-ip');
    expect(fields).not.toContain('x-forwarded-for');
    expect(fields).toEqual(expect.arrayContaining(['c-country', 'asn']));
    const order = CATALOG.realtime.map((f) => f.name);
    expect(fields).toEqual(
      [...CATALOG.default.filter((f) => f !== 'c-ip'), 'c-country', 'asn']
        .sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    const [[, table]] = resources(json, 'AWS::Glue::Table');
    const cols = table.Properties.TableInput.StorageDescriptor.Columns.map((c: any) => c.Name);
    expect(cols).toEqual(fields.map((f) => f.replace(/-/g, '_')));
    expect(JSON.stringify(json)).not.toMatch(/c[-_]ip\b(?![-_]version)/);
    expect(stack.fields.map((f) => f.name)).toEqual(fields);
    template.hasOutput('LogFields', { Value: fields.join(',') });
  });

  test('logClientIp: false with a field list naming c-ip is refused', () => {
    const catalog = loadCatalog();
    expect(() => new PixelTrackingStack(undefined as never, 'X',
      { catalog, logClientIp: false, fields: ['timestamp', 'c-ip'] }))
      .toThrow('logClientIp: false, but the field list names c-ip');
  });

  test('bad field lists and sampling rates are refused', () => {
    const catalog = loadCatalog();
    const make = (props: object) => () =>
      new PixelTrackingStack(undefined as never, 'X', { catalog, ...props });
    expect(make({ fields: ['timestamp', 'no-such-field'] })).toThrow("unknown real-time log field 'no-such-field'");
    expect(make({ fields: ['timestamp', 'c-ip', 'c-ip'] })).toThrow("field 'c-ip' given twice");
    expect(make({ fields: ['c-ip'] })).toThrow("must include 'timestamp'");
    expect(make({ fields: [] })).toThrow('empty');
    expect(make({ samplingRate: 0 })).toThrow(PixelStackPropsError);
    expect(make({ samplingRate: 101 })).toThrow('samplingRate must be an integer from 1 to 100');
    expect(make({ shardCount: 0 })).toThrow('shardCount');
  });
});

describe('pixel object and distribution', () => {
  test('the pixel asset is a valid 68-byte transparent 1x1 PNG (checked by Python zlib/struct)', () => {
    const out = execFileSync('python3', [path.join(__dirname, 'png_check.py'),
      path.join(DEPLOY_DIR, 'assets', 'pixel', '1x1.png')], { encoding: 'utf8' });
    expect(out).toContain('ok');
    expect(fs.readdirSync(path.join(DEPLOY_DIR, 'assets', 'pixel'))).toEqual(['1x1.png']);
  });

  test('the object is deployed with image/png and no-cache, no-store, must-revalidate', () => {
    base.template.hasResourceProperties('Custom::CDKBucketDeployment', {
      SystemMetadata: {
        'content-type': 'image/png',
        'cache-control': 'no-cache, no-store, must-revalidate',
      },
      Prune: true,
    });
  });

  test('both buckets are private, encrypted and TLS-only', () => {
    const buckets = resources(base.json, 'AWS::S3::Bucket');
    expect(buckets.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['DataBucket', 'PixelBucket']);
    for (const [id, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      });
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]
        .ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      const policy = resources(base.json, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === id);
      expect(policy).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }));
    }
  });

  test('the pixel bucket is read through origin access control, not an identity', () => {
    base.template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    base.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4',
      },
    });
    const oac = logicalId(base.json, 'AWS::CloudFront::OriginAccessControl', '');
    const [[, dist]] = resources(base.json, 'AWS::CloudFront::Distribution');
    for (const o of dist.Properties.DistributionConfig.Origins) {
      expect(o.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oac, 'Id'] });
      expect(o.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    }
    const pixelBucket = logicalId(base.json, 'AWS::S3::Bucket', 'PixelBucket');
    const [[, policy]] = resources(base.json, 'AWS::S3::BucketPolicy')
      .filter(([, p]) => p.Properties.Bucket.Ref === pixelBucket);
    const allow = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
    expect(allow).toHaveLength(1);
    expect(allow[0].Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(allow[0].Action).toBe('s3:GetObject');
    expect(allow[0].Condition.StringEquals['AWS:SourceArn']).toBeDefined();
  });

  test('/1x1.png: GET/HEAD, redirect to https, query out of the cache key, real-time logs', () => {
    const [[, dist]] = resources(base.json, 'AWS::CloudFront::Distribution');
    const config = dist.Properties.DistributionConfig;
    expect(config.HttpVersion).toBe('http2and3');
    expect(config.CacheBehaviors).toHaveLength(1);
    const b = config.CacheBehaviors[0];
    expect(b.PathPattern).toBe('/1x1.png');
    expect(b.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
    const rtl = logicalId(base.json, 'AWS::CloudFront::RealtimeLogConfig', 'RealtimeLog');
    expect(b.RealtimeLogConfigArn).toEqual({ Ref: rtl });  // Ref of a real-time log config is its ARN
    expect(config.DefaultCacheBehavior.RealtimeLogConfigArn).toBeUndefined();
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    const policyId = logicalId(base.json, 'AWS::CloudFront::CachePolicy', 'PixelCachePolicy');
    expect(b.CachePolicyId).toEqual({ Ref: policyId });
    const cp = base.json.Resources[policyId].Properties.CachePolicyConfig;
    expect(cp.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig).toEqual({ QueryStringBehavior: 'none' });
    expect(cp.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig).toEqual({ HeaderBehavior: 'none' });
    expect(cp.ParametersInCacheKeyAndForwardedToOrigin.CookiesConfig).toEqual({ CookieBehavior: 'none' });
    expect(cp.MinTTL).toBeGreaterThan(0);
  });
});

describe('stream and log delivery role', () => {
  test('the stream is on-demand and encrypted with the AWS managed key', () => {
    base.template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      ShardCount: Match.absent(),
    });
  });

  test('a shard count makes it provisioned', () => {
    synth({ shardCount: 3 }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 3,
    });
  });

  test('the log role is trusted only by CloudFront of this account, with SourceArn and SourceAccount', () => {
    const roleId = logicalId(base.json, 'AWS::IAM::Role', 'RealtimeLogRole');
    const trust = base.json.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(trust[0].Action).toBe('sts:AssumeRole');
    expect(trust[0].Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(trust[0].Condition.ArnLike['aws:SourceArn']).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':*']],
    });
    // No other principal anywhere in the trust policy (the seed trusted the account root).
    expect(JSON.stringify(trust)).not.toContain(':root');
    const statements = policiesOf(base.json, roleId);
    expect(actionsOf(statements).sort()).toEqual([
      'kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords',
    ]);
    const streamId = logicalId(base.json, 'AWS::Kinesis::Stream', 'LogStream');
    for (const s of statements) expect(s.Resource).toEqual({ 'Fn::GetAtt': [streamId, 'Arn'] });
  });
});

describe('Firehose', () => {
  const destination = (json: Record<string, any>) => {
    const [[, d]] = resources(json, 'AWS::KinesisFirehose::DeliveryStream');
    return d.Properties.ExtendedS3DestinationConfiguration;
  };

  test('reads the stream and writes gzip under year=yyyy/month/day/hour, errors elsewhere', () => {
    const [[, d]] = resources(base.json, 'AWS::KinesisFirehose::DeliveryStream');
    expect(d.Properties.DeliveryStreamType).toBe('KinesisStreamAsSource');
    const dest = destination(base.json);
    expect(dest.Prefix).toBe(
      'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/');
    expect(DATA_PREFIX).toBe(dest.Prefix);
    expect(dest.ErrorOutputPrefix.startsWith('errors/')).toBe(true);
    expect(dest.ErrorOutputPrefix).toContain('!{firehose:error-output-type}');
    expect(dest.CompressionFormat).toBe('GZIP');
    expect(dest.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 5 });
    expect(JSON.stringify(base.json)).not.toContain('timestamp:YYYY');
  });

  test('buffering is configurable', () => {
    const dest = destination(synth({ bufferingInterval: Duration.seconds(300), bufferingSize: Size.mebibytes(64) }).json);
    expect(dest.BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 64 });
  });

  test('its role may write objects but never delete them', () => {
    const roleId = logicalId(base.json, 'AWS::IAM::Role', 'FirehoseRole');
    expect(destination(base.json).RoleARN).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    const actions = actionsOf(policiesOf(base.json, roleId));
    expect(actions).toContain('s3:PutObject');
    expect(actions.filter((a) => /delete|\*$/i.test(a) && a.startsWith('s3:'))).toEqual([]);
    expect(actions.filter((a) => /^s3:.*Delete/i.test(a) || a === 's3:*')).toEqual([]);
    // No statement anywhere in the template gives Firehose's role a deletion.
    for (const [, p] of resources(base.json, 'AWS::IAM::Policy')) {
      if (!asArray(p.Properties.Roles).some((r: any) => r.Ref === roleId)) continue;
      expect(JSON.stringify(p.Properties.PolicyDocument)).not.toMatch(/Delete/);
    }
    const trust = base.json.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust[0].Principal).toEqual({ Service: 'firehose.amazonaws.com' });
  });
});

describe('retention and removal', () => {
  test('lifecycle rules expire logs, errors and query results, and abort stale uploads', () => {
    const data = base.json.Resources[logicalId(base.json, 'AWS::S3::Bucket', 'DataBucket')];
    const rules = data.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(expect.objectContaining({ Id: 'expire-logs', ExpirationInDays: 365, Status: 'Enabled' }));
    expect(rules).toContainEqual(expect.objectContaining({ Id: 'expire-errors', Prefix: 'errors/', ExpirationInDays: 30 }));
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'athena-results/', ExpirationInDays: 30 }));
    expect(rules).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }));
    const pixel = base.json.Resources[logicalId(base.json, 'AWS::S3::Bucket', 'PixelBucket')];
    expect(pixel.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }));
    const custom = synth({ retentionDays: 90, scratchRetentionDays: 7 }).json;
    const customRules = custom.Resources[logicalId(custom, 'AWS::S3::Bucket', 'DataBucket')]
      .Properties.LifecycleConfiguration.Rules;
    expect(customRules).toContainEqual(expect.objectContaining({ Id: 'expire-logs', ExpirationInDays: 90 }));
    expect(customRules).toContainEqual(expect.objectContaining({ Id: 'expire-errors', ExpirationInDays: 7 }));
  });

  const kept = ['AWS::S3::Bucket', 'AWS::Kinesis::Stream', 'AWS::Glue::Database', 'AWS::Glue::Table',
    'AWS::Athena::WorkGroup', 'AWS::Logs::LogGroup'];

  test('by default the data outlives the stack', () => {
    for (const type of kept) {
      for (const [id, r] of resources(base.json, type)) {
        expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([id, 'Retain', 'Retain']);
      }
    }
    base.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    base.template.hasResourceProperties('AWS::Athena::WorkGroup', { RecursiveDeleteOption: false });
    base.template.hasResourceProperties('Custom::CDKBucketDeployment', { RetainOnDelete: true });
  });

  test('retain: false makes cdk destroy remove everything, objects included', () => {
    const { json, template } = synth({ retain: false });
    for (const type of kept) {
      for (const [id, r] of resources(json, type)) {
        expect([id, r.DeletionPolicy]).toEqual([id, 'Delete']);
      }
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    template.hasResourceProperties('AWS::Athena::WorkGroup', { RecursiveDeleteOption: true });
  });
});

describe('Athena', () => {
  const table = () => resources(base.json, 'AWS::Glue::Table')
    .map(([, t]) => t.Properties.TableInput).find((t) => t.Name === 'events');

  test('the table is partitioned by year/month/day/hour with partition projection', () => {
    const t = table();
    expect(t.PartitionKeys.map((k: any) => k.Name)).toEqual(['year', 'month', 'day', 'hour']);
    const p = t.Parameters;
    expect(p['projection.enabled']).toBe('true');
    for (const k of ['year', 'month', 'day', 'hour']) expect(p[`projection.${k}.type`]).toBe('integer');
    expect(p['projection.month.range']).toBe('1,12');
    expect(p['projection.day.range']).toBe('1,31');
    expect(p['projection.hour.range']).toBe('0,23');
    for (const k of ['month', 'day', 'hour']) expect(p[`projection.${k}.digits`]).toBe('2');
    const bucket = logicalId(base.json, 'AWS::S3::Bucket', 'DataBucket');
    expect(p['storage.location.template']).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: bucket }, '/year=${year}/month=${month}/day=${day}/hour=${hour}/']],
    });
    // The template and the Firehose prefix name the same tree.
    expect(DATA_PREFIX.replace(/!\{timestamp:(yyyy|MM|dd|HH)\}/g, 'X'))
      .toBe('year=${year}/month=${month}/day=${day}/hour=${hour}/'.replace(/\$\{\w+\}/g, 'X'));
    expect(t.StorageDescriptor.SerdeInfo.Parameters['field.delim']).toBe('\t');
    base.template.resourceCountIs('AWS::Glue::Crawler', 0);
  });

  test('a workgroup and the named queries (the open queries: opens-sql.test.ts)', () => {
    base.template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ EnforceWorkGroupConfiguration: true }),
    });
    const all = resources(base.json, 'AWS::Athena::NamedQuery').map(([, q]) => q.Properties);
    expect(all.map((q) => q.Name).sort()).toEqual([
      'pixel: create the opens view', 'pixel: events per hour', 'pixel: machine hits per campaign and kind',
      'pixel: opens per campaign', 'pixel: opens per message', 'pixel: opens summary per campaign',
      'pixel: unique users per third party',
    ]);
    const queries = all.filter((q) => !q.QueryString.includes('"pixel"."manifests"'));
    expect(queries.length).toBe(3);
    for (const q of queries) {
      expect(q.Database).toBe('pixel');
      expect(q.QueryString).toContain('"pixel"."events"');
      expect(q.QueryString).toContain('"timestamp" >= to_unixtime(');
      expect(q.QueryString).toContain("INTERVAL '1' HOUR");  // arrival-time slack
    }
    const opens = queries.find((q) => q.Name === 'pixel: opens per campaign');
    expect(opens.QueryString).toContain('count(DISTINCT eid)');
    const users = queries.find((q) => q.Name === 'pixel: unique users per third party');
    expect(users.QueryString).toContain('count(DISTINCT userid)');
  });

  test('without cs-uri-query only the per-hour query is made', () => {
    const queries = resources(synth({ fields: ['timestamp', 'c-ip'] }).json, 'AWS::Athena::NamedQuery');
    expect(queries.map(([, q]) => q.Properties.Name)).toEqual(['pixel: events per hour']);
  });
});

describe('outputs', () => {
  test('pixel URL, bucket, stream and table', () => {
    const dist = logicalId(base.json, 'AWS::CloudFront::Distribution', 'Distribution');
    base.template.hasOutput('PixelUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [dist, 'DomainName'] }, '/1x1.png']] },
    });
    base.template.hasOutput('DataBucketName', { Value: { Ref: logicalId(base.json, 'AWS::S3::Bucket', 'DataBucket') } });
    base.template.hasOutput('StreamName', { Value: { Ref: logicalId(base.json, 'AWS::Kinesis::Stream', 'LogStream') } });
    base.template.hasOutput('TableName', { Value: 'pixel.events' });
    base.template.hasOutput('LogFields', { Value: CATALOG.default.join(',') });
  });

  test('the stream capacity producers pace themselves to', () => {
    base.template.hasOutput('StreamRecordsPerSecond', { Value: '4000' });
    synth({ shardCount: 3 }).template.hasOutput('StreamRecordsPerSecond', { Value: '3000' });
  });
});

describe('checks', () => {
  test('cdk-nag and CloudFormation Validate pass for every variant (synth would throw)', () => {
    expect(() => synth({ retain: false, shardCount: 2 })).not.toThrow();
    expect(() => synth({ fields: CATALOG.realtime.map((f) => f.name) })).not.toThrow();
    expect(() => synth({ logClientIp: false })).not.toThrow();
  });

  test('the checks really run: without the stated exceptions synth fails', () => {
    expect(() => synth({}, false)).toThrow(/AwsSolutions-S1[\s\S]*AwsSolutions-CFR4|AwsSolutions-CFR4[\s\S]*AwsSolutions-S1/);
  });

  test('template validation findings are errors in this app', () => {
    const context = JSON.parse(fs.readFileSync(path.join(DEPLOY_DIR, 'cdk.json'), 'utf8')).context;
    expect(context['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
    expect(context['@aws-cdk/core:strictCfnValidateErrors']).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(DEPLOY_DIR, 'package.json'), 'utf8'));
    expect(pkg.scripts.synth).toContain('--strict');
  });

  test('every exception carries its reason', () => {
    const all = exceptions(synth({ retain: false }).stack);
    expect(all.length).toBeGreaterThan(5);
    for (const e of all) {
      expect(e.reason.length).toBeGreaterThan(40);
      expect(e.ids.length).toBeGreaterThan(0);
    }
  });
});

test('snapshot of the synthesized template', () => {
  expect(base.json).toMatchSnapshot();
});
