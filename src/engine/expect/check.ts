import type { ContainerDetails, Engine, Limits, NetworkAttachment } from '../../docker/index.js';
import { messageOf } from '../../errors.js';
import { verifyBundle } from '../../evidence/verify.js';
import { renderTemplates, type TemplateScope } from '../template.js';
import { limitParsers, type Expectation } from './load.js';
import * as state from './state.js';
import type { ExpectationResult, Verdict } from './verdict.js';

export interface CheckContext {
  engine: Engine;
  /** The container the playbook ran on. */
  containerId: string;
  /** What templates in expectations read: params and the outputs of the run's steps. */
  scope: TemplateScope;
  incident: string;
  bundlePath?: string;
  /** The container's attachments before the drill changed anything, for networks-restored. */
  networksBefore?: readonly NetworkAttachment[];
  signal?: AbortSignal;
}

/**
 * Each expectation against the engine's own view after the run (one inspect shared by the state
 * checks, the image list, the bundle's verify). A check that cannot ask fails with the reason as
 * what was observed: a post-condition nobody could see does not hold.
 */
export async function checkExpectations(
  expectations: readonly Expectation[],
  ctx: CheckContext,
): Promise<ExpectationResult[]> {
  let details: Promise<ContainerDetails> | undefined;
  const inspect = () => (details ??= ctx.engine.containers.inspect(ctx.containerId, ctx.signal));
  const results: ExpectationResult[] = [];
  for (const expectation of expectations) {
    const started = performance.now();
    const label = labelOf(expectation, ctx.scope);
    let verdict: Verdict;
    try {
      verdict = await judge(expectation, ctx, inspect);
    } catch (error) {
      verdict = { ok: false, expected: label, observed: `could not check: ${messageOf(error)}` };
    }
    results.push({
      expectation: label,
      status: verdict.ok ? 'succeeded' : 'failed',
      expected: verdict.expected,
      observed: verdict.observed,
      durationMs: Math.round(performance.now() - started),
    });
  }
  return results;
}

async function judge(
  expectation: Expectation,
  ctx: CheckContext,
  inspect: () => Promise<ContainerDetails>,
): Promise<Verdict> {
  switch (expectation.kind) {
    case 'isolated':
      return state.isolated(await inspect());
    case 'stopped':
      return state.stopped(await inspect());
    case 'running':
      return state.running(await inspect());
    case 'paused':
      return state.paused(await inspect());
    case 'healthy':
      return state.healthy(await inspect());
    case 'networks-restored':
      return state.networksRestored(await inspect(), ctx.networksBefore);
    case 'restart-policy':
      return state.restartPolicy(await inspect(), expectation.policy);
    case 'limits':
      return state.limits(await inspect(), wantedLimits(expectation.limits, ctx.scope));
    case 'image-tagged':
      return imageTagged(ctx, String(renderTemplates(expectation.repository, ctx.scope)));
    case 'bundle-verifies':
      return bundleVerifies(ctx.bundlePath);
  }
}

/** Rendered and parsed as the step inputs are; a blank value (an unset parameter) is not checked. */
function wantedLimits(spec: Record<string, unknown>, scope: TemplateScope): Partial<Limits> {
  const keys = { cpus: 'nanoCpus', memory: 'memory', pids: 'pidsLimit' } as const;
  const wanted: Partial<Limits> = {};
  for (const [key, field] of Object.entries(keys)) {
    const value = renderTemplates(spec[key], scope);
    if (value === undefined || value === null || String(value).trim() === '') continue;
    wanted[field] = limitParsers[key as keyof typeof keys](value as string | number);
  }
  return wanted;
}

/** An image the run committed (labelled with its incident) carries a tag in the repository. */
async function imageTagged(ctx: CheckContext, repository: string): Promise<Verdict> {
  const images = await ctx.engine.images.list({ label: [`firebreak.incident=${ctx.incident}`] }, ctx.signal);
  const tags = images.flatMap((image) => image.tags);
  const expected = `an image of incident ${ctx.incident} tagged ${repository}:<tag>`;
  const observed = images.length
    ? `${images.length} image(s) of the incident, tagged ${tags.length ? tags.join(', ') : 'nothing'}`
    : `no image labelled firebreak.incident=${ctx.incident}`;
  return { ok: tags.some((tag) => tag.startsWith(`${repository}:`)), expected, observed };
}

async function bundleVerifies(path: string | undefined): Promise<Verdict> {
  const expected = 'the bundle verifies (every entry matches its manifest)';
  if (!path) return { ok: false, expected, observed: 'no bundle was written' };
  const report = await verifyBundle(path);
  return {
    ok: report.ok,
    expected,
    observed: report.ok ? `${report.entries} entries verified` : (report.problems[0] ?? 'verify failed'),
  };
}

/** The expectation as the playbook wrote it, with its templates filled in. */
function labelOf(expectation: Expectation, scope: TemplateScope): string {
  return String(renderTemplates(expectation.label, scope));
}
