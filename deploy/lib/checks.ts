// Synth-time checks: cdk-nag's AWS Solutions rules and aws-cdk-lib's CloudFormation Validate
// rules (findings are errors: @aws-cdk/core:validateAgainstDefaultRules in cdk.json). Every
// exception is acknowledged here, on the construct it concerns, with its reason.
// SPDX-License-Identifier: MIT
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** Runs the AWS Solutions rule pack over every stack of the app at synth time. */
export function addChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

interface Exception {
  /** Construct path below the stack; '' for the stack itself. */
  readonly path: string;
  readonly ids: string[];
  readonly reason: string;
}

const nag = (rule: string) => `AwsSolutions::AwsSolutions-${rule}`;

// The singleton function behind BucketDeployment (copies the pixel from the asset bucket).
const DEPLOYMENT_FN = 'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C';

const EXCEPTIONS: Exception[] = [
  {
    path: 'PixelBucket',
    ids: [nag('S1')],
    reason: 'Holds one public object read only by CloudFront through origin access control; ' +
      'every pixel request is already logged by the real-time log configuration.',
  },
  {
    path: 'DataBucket',
    ids: [nag('S1')],
    reason: 'Written only by Firehose and read by Athena; its writes are the log records themselves. ' +
      'Object-level auditing belongs to the account (CloudTrail data events), not to this stack.',
  },
  {
    path: 'Distribution',
    ids: [nag('CFR3')],
    reason: 'Real-time logs record every request to /1x1.png (the only logged path, by design); ' +
      'standard access logs would store each request a second time.',
  },
  {
    path: 'Distribution',
    ids: [nag('CFR4')],
    reason: 'The distribution uses the default *.cloudfront.net certificate, for which CloudFront ' +
      'fixes the security policy at TLSv1; a custom domain with its own certificate lifts it. ' +
      'The pixel carries no secret, and the SDK negotiates TLS 1.2 or later.',
  },
  {
    path: 'Distribution',
    ids: [nag('CFR1')],
    reason: 'A tracking pixel is fetched by mail clients and browsers worldwide; a geo restriction ' +
      'would turn opens into 403s that are logged but not counted.',
  },
  {
    path: 'Distribution',
    ids: [nag('CFR2')],
    reason: 'The pixel is a static cached object with no application behind it; a web ACL costs a ' +
      'monthly fee per distribution and is the deployer\'s choice (attach one with webAclId).',
  },
  {
    path: 'Delivery',
    ids: [nag('KDF1')],
    reason: 'A delivery stream whose source is a Kinesis data stream cannot have its own ' +
      'server-side encryption: records are encrypted in the source stream (aws/kinesis key) and ' +
      'the objects by the data bucket (SSE-S3).',
  },
  {
    path: 'FirehoseWritePolicy',
    ids: [nag('IAM5[Resource::<DataBucketE3889A50.Arn>/*]')],
    reason: 'Firehose writes objects under keys it generates (hourly prefixes), so the object ' +
      'resource is the bucket\'s objects; the actions are listed one by one and exclude deletion.',
  },
  {
    path: `${DEPLOYMENT_FN}/ServiceRole`,
    ids: [nag('IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]')],
    reason: 'aws-cdk-lib\'s BucketDeployment function (copies the pixel at deploy time) writes its ' +
      'own CloudWatch logs with the basic execution policy; it runs only during deployments.',
  },
  {
    path: `${DEPLOYMENT_FN}/ServiceRole/DefaultPolicy`,
    ids: [
      nag('IAM5[Action::s3:GetObject*]'),
      nag('IAM5[Action::s3:GetBucket*]'),
      nag('IAM5[Action::s3:List*]'),
      nag('IAM5[Action::s3:DeleteObject*]'),
      nag('IAM5[Action::s3:Abort*]'),
      nag('IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]'),
      nag('IAM5[Resource::<PixelBucket340CD53D.Arn>/*]'),
    ],
    reason: 'Grants of aws-cdk-lib\'s BucketDeployment: read the staged asset from the bootstrap ' +
      'bucket, write (and prune) the pixel bucket. Scoped to those two buckets.',
  },
  {
    path: DEPLOYMENT_FN,
    ids: [nag('L1')],
    reason: 'The runtime of BucketDeployment\'s function is chosen by aws-cdk-lib and moves with it.',
  },
  {
    path: '',
    ids: ['CloudFormation-Validate::W7001'],
    reason: 'The Firehose construct adds a mapping of Firehose CIDR blocks for network destinations; ' +
      'an S3 destination does not use it.',
  },
];

// With retain: false, S3's auto-delete custom resource empties the buckets on stack deletion.
const AUTO_DELETE_EXCEPTIONS: Exception[] = [
  {
    path: 'Custom::S3AutoDeleteObjectsCustomResourceProvider',
    ids: [nag('IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]'),
      nag('L1')],
    reason: 'aws-cdk-lib\'s auto-delete function (present only with retain: false) empties the ' +
      'buckets when the stack is deleted; its role and runtime are aws-cdk-lib\'s.',
  },
];

function at(stack: Stack, path: string): IConstruct | undefined {
  if (path === '') return stack;
  let node: IConstruct | undefined = stack;
  for (const part of path.split('/')) node = node?.node.tryFindChild(part);
  return node;
}

/** The exceptions that apply to this stack (those whose construct exists). */
export function exceptions(stack: Stack): Exception[] {
  return [...EXCEPTIONS, ...AUTO_DELETE_EXCEPTIONS].filter((e) => at(stack, e.path) !== undefined);
}

/** Acknowledges each stated exception on its construct. */
export function acknowledgeFindings(stack: Stack): void {
  for (const e of EXCEPTIONS) {
    const target = at(stack, e.path);
    if (target === undefined) throw new Error(`checks: no construct ${e.path} in ${stack.stackName}`);
    for (const id of e.ids) Validations.of(target).acknowledge({ id, reason: e.reason });
  }
  for (const e of AUTO_DELETE_EXCEPTIONS) {
    const target = at(stack, e.path);
    if (target === undefined) continue;
    for (const id of e.ids) Validations.of(target).acknowledge({ id, reason: e.reason });
  }
}
