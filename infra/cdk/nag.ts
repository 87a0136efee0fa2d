import { Stack } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag suppressions, always on the construct they concern and with their reason (nag.test.ts runs
 * the AwsSolutions and Serverless packs over the stack and fails on anything neither fixed nor
 * suppressed). IAM wildcards are suppressed finding by finding: `wildcards()` spells each resource the
 * way cdk-nag reports it, so a suppression covers exactly the ARNs granted and nothing broader.
 */
export interface Suppression {
  readonly id: string;
  readonly reason: string;
  readonly appliesTo?: string[];
}

/** Suppresses `rules` on `construct` (and, with `children`, on its descendants: a role and its policy). */
export function suppress(construct: IConstruct, rules: Suppression[], children = false): void {
  NagSuppressions.addResourceSuppressions(construct, rules, children);
}

/** The AwsSolutions-IAM5 findings (`Resource::…`) of these ARNs, as cdk-nag flattens them. */
export function wildcards(scope: IConstruct, arns: readonly string[]): string[] {
  const stack = Stack.of(scope);
  return arns.map((arn) => `Resource::${flatten(stack.resolve(arn))}`);
}

/** cdk-nag's flattening of a CloudFormation value: Fn::Join joined, Ref → <Id>, GetAtt → <Id.Attr>. */
function flatten(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const o = node as Record<string, any>;
  if (o?.['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(flatten).join(o['Fn::Join'][0]);
  if (o?.['Fn::GetAtt']) return `<${flatten(o['Fn::GetAtt'][0])}.${flatten(o['Fn::GetAtt'][1])}>`;
  if (o?.Ref) return `<${flatten(o.Ref)}>`;
  return JSON.stringify(node);
}
