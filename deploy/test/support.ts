// Synthesizes the stack the way `cdk synth` does (same context, same checks) for the tests.
// SPDX-License-Identifier: MIT
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { acknowledgeFindings, addChecks } from '../lib/checks';
import { PixelTrackingStack, PixelTrackingStackProps } from '../lib/pixel-stack';

export const DEPLOY_DIR = path.resolve(__dirname, '..');
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(DEPLOY_DIR, 'cdk.json'), 'utf8'),
).context;

export interface Synthesized {
  readonly stack: PixelTrackingStack;
  readonly template: Template;
  readonly json: Record<string, any>;
}

/**
 * Builds the app with cdk.json's context, the nag rules and the stated exceptions, and
 * synthesizes it: validation findings throw here as they fail `cdk synth`.
 */
export function synth(props: PixelTrackingStackProps = {}, acknowledge = true): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-cdk-'));
  try {
    const app = new App({ context: CDK_CONTEXT, outdir });
    const stack = new PixelTrackingStack(app, 'PixelTrackingStack', props);
    addChecks(app);
    if (acknowledge) acknowledgeFindings(stack);
    const assembly = app.synth();
    const json = assembly.getStackByName('PixelTrackingStack').template;
    return { stack, template: Template.fromJSON(json), json };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Resources of a type, by logical id. */
export function resources(json: Record<string, any>, type: string): [string, any][] {
  return Object.entries(json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
}

/** The logical id of the one resource of a type whose id starts with a prefix. */
export function logicalId(json: Record<string, any>, type: string, prefix: string): string {
  const found = resources(json, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`${found.length} ${type} resources named ${prefix}*`);
  return found[0][0];
}

export function asArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}
