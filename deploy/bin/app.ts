#!/usr/bin/env node
// The CDK app: one stack, PixelTrackingStack. Choices come from context (-c key=value or
// cdk.json): fields, samplingRate, shardCount, bufferSeconds, bufferMiB, retentionDays,
// scratchRetentionDays, retain, databaseName, tableName, firstYear, signing (off | enforce),
// logClientIp (true | false).
// SPDX-License-Identifier: MIT
import { App, Duration, Size } from 'aws-cdk-lib';

import { acknowledgeFindings, addChecks } from '../lib/checks';
import { PixelTrackingStack, PixelTrackingStackProps } from '../lib/pixel-stack';

const app = new App();
const ctx = (key: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(key);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};
const num = (key: string): number | undefined => {
  const v = ctx(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`context ${key}: not a number: '${v}'`);
  return n;
};
const flag = (key: string): boolean | undefined => {
  const v = ctx(key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new Error(`context ${key}: expected true or false, got '${v}'`);
  return v === 'true';
};

const props: PixelTrackingStackProps = {
  fields: ctx('fields')?.split(',').map((f) => f.trim()),
  logClientIp: flag('logClientIp'),
  samplingRate: num('samplingRate'),
  shardCount: num('shardCount'),
  bufferingInterval: num('bufferSeconds') === undefined ? undefined : Duration.seconds(num('bufferSeconds')!),
  bufferingSize: num('bufferMiB') === undefined ? undefined : Size.mebibytes(num('bufferMiB')!),
  retentionDays: num('retentionDays'),
  scratchRetentionDays: num('scratchRetentionDays'),
  retain: flag('retain'),
  databaseName: ctx('databaseName'),
  tableName: ctx('tableName'),
  firstYear: num('firstYear'),
  signing: ctx('signing') as PixelTrackingStackProps['signing'],
};
// No env: an environment-agnostic stack, so synth needs no credentials and does no lookups.
const stack = new PixelTrackingStack(app, 'PixelTrackingStack', {
  description: 'Tracking pixel: CloudFront real-time logs to Kinesis, Firehose, S3 and Athena',
  ...props,
});
addChecks(app);
acknowledgeFindings(stack);
app.synth();
