import type { ContainerDetails, NetworkAttachment } from '../../docker/index.js';
import { describeLimits, differingLimits } from '../../steps/limits.js';
import type { Limits } from '../../docker/index.js';
import type { Verdict } from './verdict.js';

/** Checks that read one inspect document. Each says what it wanted and what the engine showed. */

export function isolated(details: ContainerDetails): Verdict {
  const attached = details.networks.map((n) => n.network);
  return {
    ok: attached.length === 0,
    expected: 'attached to no network',
    observed: attached.length ? `attached to ${attached.join(', ')}` : 'attached to no network',
  };
}

export function stopped(details: ContainerDetails): Verdict {
  const ok = ['created', 'exited', 'dead'].includes(details.state.status);
  return { ok, expected: 'status exited (or created, dead)', observed: `status ${statusOf(details)}` };
}

export function running(details: ContainerDetails): Verdict {
  const ok = details.state.running && !details.state.paused && !details.state.restarting;
  return { ok, expected: 'status running', observed: `status ${statusOf(details)}` };
}

export function paused(details: ContainerDetails): Verdict {
  return { ok: details.state.paused, expected: 'status paused', observed: `status ${statusOf(details)}` };
}

export function healthy(details: ContainerDetails): Verdict {
  const health = details.hasHealthcheck ? (details.state.health ?? 'none yet') : 'no healthcheck';
  return { ok: health === 'healthy', expected: 'health healthy', observed: `health ${health}` };
}

export function restartPolicy(details: ContainerDetails, policy: string): Verdict {
  return {
    ok: details.restartPolicy.name === policy,
    expected: `restart policy ${policy}`,
    observed: `restart policy ${details.restartPolicy.name}`,
  };
}

export function limits(details: ContainerDetails, wanted: Partial<Limits>): Verdict {
  const wrong = differingLimits(details.limits, wanted);
  const pick = (from: Partial<Limits>) => Object.fromEntries(wrong.map((k) => [k, from[k]])) as Partial<Limits>;
  return {
    ok: wrong.length === 0,
    expected: describeLimits(wanted),
    observed: describeLimits(wrong.length ? pick(details.limits) : wanted),
  };
}

/**
 * Every attachment the container had before (network, its aliases, a fixed address) is back.
 * Without a record of before, all that can be asked is that it is attached somewhere again.
 */
export function networksRestored(details: ContainerDetails, before: readonly NetworkAttachment[] | undefined): Verdict {
  const observed = details.networks.length ? describeAttachments(details.networks) : 'attached to no network';
  if (!before) return { ok: details.networks.length > 0, expected: 'attached to a network', observed };
  const missing = before.filter((wanted) => {
    const now = details.networks.find((n) => n.networkId === wanted.networkId);
    if (!now) return true;
    if (!wanted.aliases.every((alias) => now.aliases.includes(alias))) return true;
    return wanted.fixedAddress && wanted.ipv4 !== now.ipv4;
  });
  return { ok: missing.length === 0, expected: describeAttachments(before), observed };
}

function describeAttachments(attachments: readonly NetworkAttachment[]): string {
  return attachments
    .map((n) => {
      const parts = [...(n.aliases.length ? [`aliases ${n.aliases.join(', ')}`] : [])];
      if (n.fixedAddress && n.ipv4) parts.push(`fixed ${n.ipv4}`);
      return parts.length ? `${n.network} (${parts.join('; ')})` : n.network;
    })
    .join(', ');
}

function statusOf(details: ContainerDetails): string {
  return details.state.restarting ? 'restarting' : details.state.status;
}
